"""NaN guard, full disk while saving, malicious pickles, HTML escaping of file names, no eval/shell."""
import errno
import os
import re
import subprocess
import sys

import pytest
import torch

from cyclegan.io import CheckpointError, atomic_save, safe_load
from cyclegan.models import CycleGANModel
from cyclegan.training import train
from cyclegan.runs.guards import NonFiniteLoss
from conftest import REPO, TINY, make_images, run_env
from options.train_options import TrainOptions


def test_nan_in_a_loss_stops_with_its_name_and_iteration_and_spares_the_checkpoint(tiny_dataset, tmp_path,
                                                                                    monkeypatch):
    opt = TrainOptions().parse(["--dataroot", str(tiny_dataset), "--name", "nan", "--checkpoints_dir",
                                str(tmp_path), *TINY, "--n_epochs", "2", "--n_epochs_decay", "0",
                                "--save_epoch_freq", "1", "--seed", "1", "--max_dataset_size", "2"])
    train(opt)  # a good run of 2 epochs x 2 images, checkpoints saved

    calls = {"n": 0}
    original = CycleGANModel.backward_G

    def poisoned(self):  # the test hook: cycle_B turns NaN from the 3rd step on
        calls["n"] += 1
        original(self)
        if calls["n"] >= 3:
            self.loss_cycle_B = self.loss_cycle_B * float("nan")

    monkeypatch.setattr(CycleGANModel, "backward_G", poisoned)
    opt2 = TrainOptions().parse(["--dataroot", str(tiny_dataset), "--name", "nan", "--checkpoints_dir",
                                 str(tmp_path), *TINY, "--n_epochs", "4", "--n_epochs_decay", "0", "--max_dataset_size", "2",
                                 "--save_epoch_freq", "1", "--continue_train", "--save_latest_freq", "1"])
    with pytest.raises(NonFiniteLoss, match=r"loss cycle_B became NaN/Inf at iteration 7"):
        train(opt2)  # resumed at 4 images seen; the 3rd step is image 7
    state = torch.load(tmp_path / "nan" / "latest_state.pth", weights_only=True)
    assert state["counters"]["total_iters"] == 6  # steps 5 and 6 were saved, nothing from the NaN step on
    for net in ("G_A", "G_B", "D_A", "D_B"):
        assert all(torch.isfinite(v).all() for v in state["nets"][net].values())
        weights = torch.load(tmp_path / "nan" / f"latest_net_{net}.pth", weights_only=True)
        assert all(torch.isfinite(v).all() for v in weights.values())


def test_full_disk_gives_a_clear_error_and_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "latest_net_G_A.pth"
    atomic_save({"w": torch.ones(3)}, path)
    before = path.read_bytes()

    def full_disk(obj, f, *a, **k):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointError, match=r"latest_net_G_A\.pth: the disk is full.*previous file is intact"):
        atomic_save({"w": torch.zeros(3)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["latest_net_G_A.pth"]  # no temp file left behind


def test_atomic_writes_get_the_mode_a_plain_open_would_give(tmp_path):
    """mkstemp makes owner-only temp files; what the writer leaves must be readable as usual."""
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    path = tmp_path / "video.mp4"
    atomic_save({"w": torch.ones(1)}, path)
    assert oct(path.stat().st_mode & 0o777) == oct(plain.stat().st_mode & 0o777)


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def write_evil(path, marker):
    Evil.marker = marker
    torch.save({"model.1.weight": Evil()}, path)


@pytest.mark.slow
def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    write_evil(evil, marker)
    with pytest.raises(CheckpointError, match="refused, loading it would need arbitrary code execution"):
        safe_load(evil)
    assert not marker.exists()
    # through the command line, as a downloaded "pretrained" generator
    run_dir = tmp_path / "ck" / "evil_pretrained"
    run_dir.mkdir(parents=True)
    write_evil(run_dir / "latest_net_G.pth", marker)
    make_images(tmp_path / "photos", 1)
    p = subprocess.run([sys.executable, "-m", "cyclegan.test", "--dataroot", str(tmp_path / "photos"), "--name",
                        "evil_pretrained", "--model", "test", "--no_dropout", "--checkpoints_dir", str(tmp_path / "ck"),
                        "--results_dir", str(tmp_path / "res")], cwd=REPO, env=run_env(), capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 1 and "refused" in p.stderr and "latest_net_G.pth" in p.stderr
    assert not marker.exists()


@pytest.mark.slow
def test_malicious_file_name_shows_as_text_in_the_results_page(tmp_path):
    photos = tmp_path / "photos"
    make_images(photos, 1, prefix="<img src=x onerror=alert(1)>", ext=".jpg")
    ck = tmp_path / "ck" / "p"
    ck.mkdir(parents=True)
    from cyclegan.models.generators import define_G
    atomic_save(define_G(3, 3, 4, "resnet_6blocks", "instance").state_dict(), ck / "latest_net_G.pth")
    p = subprocess.run([sys.executable, "-m", "cyclegan.test", "--dataroot", str(photos), "--name", "p", "--model",
                        "test", "--ngf", "4", "--netG", "resnet_6blocks", "--no_dropout", "--checkpoints_dir",
                        str(tmp_path / "ck"), "--results_dir", str(tmp_path / "res"), "--load_size", "32",
                        "--crop_size", "32"], cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    html = (tmp_path / "res" / "p" / "test_latest" / "index.html").read_text()
    assert "<img src=x onerror" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_no_eval_exec_or_shell_true_in_the_code():
    offenders = []
    for path in list((REPO / "cyclegan").rglob("*.py")) + list((REPO / "options").rglob("*.py")):
        text = path.read_text()
        for pattern in (r"(?<![.\w])(?<!def )eval\(", r"(?<![.\w])exec\(", r"shell\s*=\s*True", r"os\.system\(", r"weights_only\s*=\s*False"):
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(REPO)}: {pattern}")
    assert offenders == []


def test_every_torch_load_is_weights_only():
    loads = []
    for path in (REPO / "cyclegan").rglob("*.py"):
        for m in re.finditer(r"torch\.load\(([^)]*)\)", path.read_text()):
            loads.append((str(path.relative_to(REPO)), m.group(1)))
    assert loads, "expected at least the one in cyclegan/io.py"
    assert all("weights_only=True" in args for _, args in loads), loads
