"""Never lose a run: a real training subprocess is killed (SIGKILL) at many instants, before the first save, inside
every phase of a save (the full state, the weight files, the `latest` copies, pruning), mid-epoch and inside
--save_by_iter saves; each is resumed with the same command plus --continue_train and must end bitwise equal to an
uninterrupted run (every weight file, and the last full state: nets, optimisers, pools, RNG). A full disk (an
injected ENOSPC, and a real small tmpfs where this machine allows mounting one) and a read-only folder stop
training with one line and no temp file; once space is back the resume is exact too. Faults come from
tests/_faults.py, which wraps the one writer (cyclegan/io.py) in the training process."""
import subprocess
import sys

import pytest
import torch

from conftest import REPO, TINY, run_env

pytestmark = pytest.mark.slow  # every case trains in subprocesses

FLAGS = [*TINY, "--seed", "7", "--deterministic", "--n_epochs", "2", "--n_epochs_decay", "1",
         "--save_latest_freq", "2", "--print_freq", "100", "--save_epoch_freq", "1"]
BY_ITER = ["--save_by_iter"]

# (id, extra flags, fault): 4 images an epoch, a mid-epoch save every 2 images, [epoch, latest] at each epoch's end
KILL_POINTS = [
    ("after_options_before_any_save", [], "after:train_opt.json:1"),
    ("first_save_before_it_starts", [], "before:latest_state.pth:1"),
    ("first_save_inside_state", [], "inside:latest_state.pth:1"),
    ("first_save_state_done_no_weights", [], "after:latest_state.pth:1"),
    ("first_save_between_weights", [], "after:latest_net_G_B.pth:1"),
    ("mid_epoch_1", [], "step:3"),
    ("epoch_save_inside_state", [], "inside:1_state.pth:1"),
    ("epoch_save_state_done", [], "after:1_state.pth:1"),
    ("epoch_save_between_weights", [], "after:1_net_D_A.pth:1"),
    ("latest_copy_inside_state", [], "inside:latest_state.pth:3"),
    ("latest_copy_state_done", [], "after:latest_state.pth:3"),
    ("latest_copy_between_weights", [], "after:latest_net_G_A.pth:3"),
    ("pruning", [], "prune:1"),
    ("mid_epoch_3", [], "step:10"),
    ("by_iter_first_save_inside_state", BY_ITER, "inside:iter_2_state.pth:1"),
    ("by_iter_state_done", BY_ITER, "after:iter_6_state.pth:1"),
    ("by_iter_between_weights", BY_ITER, "after:iter_6_net_G_A.pth:1"),
]


def train_cmd(root, ck, name, extra=(), fault=None):
    head = [sys.executable, "-u", str(REPO / "tests" / "_faults.py"), fault, "--"] if fault else \
        [sys.executable, "-u", "-m", "cyclegan.train"]
    return [*head, "--dataroot", str(root), "--name", name, "--checkpoints_dir", str(ck), *FLAGS, *extra]


def run(args):
    return subprocess.run(args, cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=600)


def temp_files(folder):
    return sorted(p.name for p in folder.glob(".*.tmp"))


def tensors(obj, prefix=""):
    """{path: tensor} of every tensor in a nested state (the saved options and checksums left out)."""
    if torch.is_tensor(obj):
        return {prefix: obj}
    if isinstance(obj, dict):
        items = ((k, v) for k, v in obj.items() if k not in ("options", "checksums"))
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    else:
        return {prefix: torch.tensor(float(obj))} if isinstance(obj, (int, float)) else {}
    return {path: t for k, v in items for path, t in tensors(v, f"{prefix}/{k}").items()}


def assert_same_run(reference, resumed):
    """Every weight file of the uninterrupted run exists in the resumed one, bitwise equal; so is the last full
    state (nets, optimisers, schedulers, pools, RNG, counters; the wall-clock train_seconds only has to be there)."""
    files = sorted(p.name for p in reference.glob("*_net_*.pth"))
    assert files and files == sorted(p.name for p in resumed.glob("*_net_*.pth"))
    for name in files + ["latest_state.pth"]:
        a, b = (tensors(torch.load(d / name, weights_only=True)) for d in (reference, resumed))
        assert a.keys() == b.keys(), name
        # train_seconds is wall-clock time, different on every run by design; it must exist and have grown
        clock = [k for k in a if k.endswith("/train_seconds")]
        assert all(b[k].item() > 0 for k in clock), name
        different = [k for k in a if k not in clock and not torch.equal(a[k], b[k])]
        assert not different, f"{name}: {different[:3]}"
    assert temp_files(resumed) == []


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """The uninterrupted runs, with and without --save_by_iter, on one generated dataset."""
    from conftest import make_tiny_dataset
    tmp = tmp_path_factory.mktemp("faults")
    root = make_tiny_dataset(tmp / "data")
    for name, extra in (("plain", []), ("by_iter", BY_ITER)):
        p = run(train_cmd(root, tmp / "ref", name, extra))
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    return root, tmp / "ref"


@pytest.mark.parametrize("extra,fault", [p[1:] for p in KILL_POINTS], ids=[p[0] for p in KILL_POINTS])
def test_killed_anywhere_resumes_bitwise(references, tmp_path, extra, fault):
    root, ref = references
    killed = run(train_cmd(root, tmp_path, "run", extra, fault))
    assert killed.returncode == -9, killed.stdout[-2000:] + killed.stderr[-2000:]
    if fault.startswith("inside:"):  # the kill did land inside a write
        assert temp_files(tmp_path / "run"), fault
    resumed = run(train_cmd(root, tmp_path, "run", [*extra, "--continue_train"]))
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
    assert "resumed from" in resumed.stdout or "starting from the beginning" in resumed.stdout
    assert_same_run(ref / ("by_iter" if extra else "plain"), tmp_path / "run")


def test_killed_inside_the_first_save_of_an_older_version_starts_afresh(references, tmp_path):
    """Earlier versions wrote the weight files before the state: a kill between them left weights of one label and
    no state, which --continue_train refused. Such a folder now starts from the beginning, in one line."""
    root, ref = references
    killed = run(train_cmd(root, tmp_path, "run", [], "after:latest_net_D_B.pth:1"))
    assert killed.returncode == -9
    (tmp_path / "run" / "latest_state.pth").unlink()  # what the older order left: latest_net_* alone
    resumed = run(train_cmd(root, tmp_path, "run", ["--continue_train"]))
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
    lines = [line for line in resumed.stdout.splitlines() if "starting from the beginning" in line]
    assert len(lines) == 1 and str(tmp_path / "run") in lines[0]
    assert_same_run(ref / "plain", tmp_path / "run")


def assert_one_line_error(p, *words):
    assert p.returncode == 1, p.stdout[-2000:] + p.stderr[-2000:]
    errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in p.stderr, p.stderr[-3000:]
    for word in words:
        assert word in errors[0], (word, errors[0])
    return errors[0]


@pytest.mark.parametrize("fault,cause,intact", [
    ("enospc:1_state.pth:1", "the disk is full", "latest_state.pth (epoch 1, 4 batches in, 4 images seen) is intact"),
    ("erofs:latest_state.pth:3", "the file system is read-only", "1_state.pth (epoch 1 done, 4 images seen) is intact")])
def test_a_save_the_disk_refuses_stops_in_one_line_and_resumes_exactly(references, tmp_path, fault, cause, intact):
    root, ref = references
    folder = tmp_path / "run"
    p = run(train_cmd(root, tmp_path, "run", [], fault))
    line = assert_one_line_error(p, "could not save the checkpoint of epoch 1", str(folder), cause, intact,
                                 "A save needs about", "--continue_train")
    print(line)
    assert temp_files(folder) == [], line
    resumed = run(train_cmd(root, tmp_path, "run", ["--continue_train"]))
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
    assert_same_run(ref / "plain", folder)


def test_a_real_full_disk_warns_at_start_stops_cleanly_and_resumes_after_space_is_freed(references, tmp_path):
    root, ref = references
    mount = tmp_path / "small_disk"
    mount.mkdir()
    size_kb = 2 * sum(p.stat().st_size for p in (ref / "plain").glob("latest_*.pth")) // 1024  # two saves' worth
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs here ({made.stderr.strip()}); the injected "
                    f"ENOSPC case above covers the writer")
    try:
        folder = mount / "run"
        p = run(train_cmd(root, mount, "run"))
        line = assert_one_line_error(p, "could not save the checkpoint", str(folder), "is intact",
                                     "A save needs about")
        print(line)
        assert temp_files(folder) == [], line
        again = run(train_cmd(root, mount, "run", ["--continue_train"]))  # no space freed: warned, then stopped
        assert f"warning: {folder} has" in again.stdout and "a save needs about" in again.stdout, again.stdout[-3000:]
        assert_one_line_error(again, "could not save the checkpoint")
        subprocess.run(["mount", "-o", "remount,size=65536k", str(mount)], check=True)
        resumed = run(train_cmd(root, mount, "run", ["--continue_train"]))
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
        assert "warning:" not in resumed.stdout.replace("warning: " + str(folder / "train.lock"), "")
        assert_same_run(ref / "plain", folder)
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
