"""Never lose a run: name reuse refused (and --overwrite moves the old run aside), later-epoch starts refused,
one training process per run folder (a second real process is refused, a SIGKILLed holder's lock is taken
over), and full states whose tensors were corrupted by one flipped byte are named and skipped on resume."""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import zipfile
from types import SimpleNamespace

import pytest
import torch

from conftest import REPO, TINY, make_images, run_env, snapshot
from cyclegan.io import leaves

FLAGS = [*TINY, "--seed", "1", "--n_epochs", "2", "--n_epochs_decay", "0", "--save_epoch_freq", "1",
         "--save_latest_freq", "2", "--print_freq", "100"]


def cmd(data, ck, name, *extra):
    return [sys.executable, "-u", "-m", "cyclegan.train", "--dataroot", str(data), "--name", name,
            "--checkpoints_dir", str(ck), *FLAGS, *map(str, extra)]


def run(args, rc=0):
    p = subprocess.run(args, cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=600)
    assert p.returncode == rc, p.stdout[-2000:] + p.stderr[-2000:]
    return p


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """A finished 2-epoch run (1_*, 2_*, latest_* and full states) that tests copy and then damage."""
    tmp = tmp_path_factory.mktemp("runfolder")
    for i, side in enumerate(("trainA", "trainB")):
        make_images(tmp / "data" / side, 2, seed=i)
    run(cmd(tmp / "data", tmp / "ck", "base"))
    return tmp / "data", tmp / "ck" / "base"


def copy_run(base_run, tmp_path, name="run", only=None):
    data, base = base_run
    dst = tmp_path / "ck" / name
    shutil.copytree(base, dst, ignore=None if only is None else lambda d, names: [n for n in names if only not in n])
    return data, tmp_path / "ck", dst


@pytest.mark.slow
def test_name_reuse_is_refused_untouched_and_overwrite_moves_it_aside(base_run, tmp_path):
    data, ck, folder = copy_run(base_run, tmp_path)
    before = snapshot(folder)
    p = run(cmd(data, ck, "run"), rc=1)
    assert f"{folder} already holds a run (last saved epoch 2" in p.stderr
    assert all(way in p.stderr for way in ("--continue_train", "--name OTHER", "--overwrite"))
    assert snapshot(folder) == before  # nothing touched, no lock left behind
    p = run(cmd(data, ck, "run", "--overwrite", "--n_epochs", "1"))
    aside = [d for d in ck.iterdir() if d.name.startswith("run.old-")]
    assert len(aside) == 1 and f"moved the previous run to {aside[0]}" in p.stdout
    assert snapshot(aside[0]) == before  # the old run, byte for byte
    assert (folder / "1_net_G_A.pth").is_file() and not (folder / "2_net_G_A.pth").exists()  # a fresh 1-epoch run
    assert not (folder / "train.lock").exists()


@pytest.mark.slow
def test_weights_only_resume_below_saved_epochs_is_refused_and_overwrite_moves_the_later_ones(base_run, tmp_path):
    data, ck, folder = copy_run(base_run, tmp_path, "official", only="_net_")  # official layout: weights only
    assert not list(folder.glob("*_state.pth")) and (folder / "2_net_G_A.pth").is_file()
    before = snapshot(folder)
    resume = ["--continue_train", "--epoch", "1", "--epoch_count", "2"]
    p = run(cmd(data, ck, "official", *resume), rc=1)
    assert "would start at epoch 2" in p.stderr and "saved later (2, latest)" in p.stderr
    assert "--epoch_count 3" in p.stderr and "--overwrite" in p.stderr
    assert snapshot(folder) == before
    p = run(cmd(data, ck, "official", *resume, "--overwrite"))
    aside = next(d for d in ck.iterdir() if d.name.startswith("official.old-"))
    assert f"moved the checkpoints saved from epoch 2 on (2, latest) to {aside}" in p.stdout
    moved = snapshot(aside)
    assert moved and all(before[f] == h for f, h in moved.items())  # the later epochs kept, unchanged
    assert sorted(moved) == sorted(f for f in before if f.startswith(("2_", "latest_")))
    assert snapshot(folder)["1_net_G_A.pth"] == before["1_net_G_A.pth"]  # the weights it resumed from stay
    assert snapshot(folder)["2_net_G_A.pth"] != before["2_net_G_A.pth"]  # epoch 2 trained anew


def test_an_older_full_state_start_is_refused(tmp_path):
    from cyclegan.runs.run_folder import RunFolderError, RunLock, check
    for label, epoch in (("1", 2), ("2", 3), ("latest", 3)):
        torch.save({"counters": {"epoch": epoch, "batches_done": 0, "total_iters": 4 * epoch}},
                   tmp_path / f"{label}_state.pth")
    opt = SimpleNamespace(continue_train=True, epoch="1", epoch_count=1, resume_from=None, overwrite=False)
    lock = RunLock(str(tmp_path)).acquire()
    try:
        with pytest.raises(RunFolderError, match=r"start at epoch 2.*saved later \(2, latest\).*drop --epoch"):
            check(opt, lock)
        opt.epoch = "latest"  # the newest state: nothing saved after it
        assert check(opt, lock) is lock
    finally:
        lock.release()
    assert not (tmp_path / "train.lock").exists()


@pytest.mark.slow
def test_a_second_process_is_refused_and_a_sigkilled_holders_lock_is_taken_over(base_run, tmp_path):
    data, _ = base_run
    ck = tmp_path / "ck"
    holder = subprocess.Popen(cmd(data, ck, "busy", "--n_epochs", "200"), cwd=REPO, env=run_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in holder.stdout:
            if "saved the latest model" in line:
                break
        lock_text = (ck / "busy" / "train.lock").read_text()
        assert f'"pid": {holder.pid}' in lock_text and socket.gethostname() in lock_text and "started" in lock_text
        for extra in ([], ["--continue_train"], ["--overwrite"]):
            p = run(cmd(data, ck, "busy", *extra), rc=1)
            assert f"{ck / 'busy'} is in use by another training process: pid {holder.pid} on host " \
                   f"{socket.gethostname()}" in p.stderr
        assert holder.poll() is None and not list(ck.glob("busy.old-*"))  # the holder trains on, untouched
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
    finally:
        holder.kill()
        holder.communicate()
    p = run(cmd(data, ck, "busy", "--continue_train"))
    assert f"train.lock was left by pid {holder.pid} on host {socket.gethostname()}" in p.stdout
    assert "no longer running (killed or crashed); taking it over" in p.stdout and "resumed from" in p.stdout
    assert not (ck / "busy" / "train.lock").exists()  # released at the end


def test_the_lock_is_released_when_training_fails_and_is_not_taken_twice(tmp_path):
    from cyclegan.training import train
    from cyclegan.runs.run_folder import RunFolderError, RunLock
    from options.train_options import TrainOptions
    opt = TrainOptions().parse(["--dataroot", str(tmp_path / "missing"), "--name", "fails", "--checkpoints_dir",
                                str(tmp_path), *TINY])
    with pytest.raises(Exception) as err:
        train(opt)
    assert not isinstance(err.value, RunFolderError)
    assert not (tmp_path / "fails" / "train.lock").exists()
    lock = RunLock(str(tmp_path / "fails")).acquire()
    try:
        with pytest.raises(RunFolderError, match="already being trained into by this process"):
            RunLock(str(tmp_path / "fails")).acquire()
    finally:
        lock.release()
    # SIGTERM before the loop's own handler is installed (dataset scan, model build): exit 143, lock released
    from cyclegan.training.distributed import DistContext
    from cyclegan.runs.run_folder import claim
    with pytest.raises(SystemExit) as stop:
        with claim(opt, DistContext()):
            assert (tmp_path / "fails" / "train.lock").exists()
            os.kill(os.getpid(), signal.SIGTERM)
    assert stop.value.code == 143 and not (tmp_path / "fails" / "train.lock").exists()


def flip_byte_in_largest_tensor(path):
    """Flip one byte in the middle of the largest tensor's data inside a torch zip file (CRCs left as they were)."""
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    data[info.header_offset + 30 + name_len + extra_len + info.file_size // 2] ^= 0x40
    path.write_bytes(bytes(data))


def tensor_leaves(obj):
    return [(k, v) for k, v in leaves(obj) if torch.is_tensor(v)]


def changed_tensors(a, b):
    tb = dict(tensor_leaves(b))
    return [k for k, t in tensor_leaves(a) if not torch.equal(t, tb[k])]


def test_checksums_name_a_flipped_byte_that_torch_load_accepts(tmp_path):
    from cyclegan.io import CheckpointError, load_checked, save_checked
    state = {"nets": {"G_A": {"w": torch.randn(64, 64), "b": torch.zeros(3)}}, "counters": {"epoch": 3},
             "optimizers": [{"state": {0: {"exp_avg": torch.ones(8)}}}]}
    path = tmp_path / "s.pth"
    save_checked(state, path)
    assert changed_tensors(load_checked(path), state) == [] and "checksums" not in load_checked(path)
    flip_byte_in_largest_tensor(path)
    silently = torch.load(path, weights_only=True)  # torch itself notices nothing
    assert changed_tensors(silently, state) == ["nets/G_A/w"]
    with pytest.raises(CheckpointError, match=rf"{path}: corrupted, the checksum of nets/G_A/w does not match"):
        load_checked(path)
    # a changed plain value (the counters) is caught too; a file saved without checksums loads as before
    good = torch.load(tmp_path / "s.pth", weights_only=True)
    torch.save({**state, "checksums": good["checksums"], "counters": {"epoch": 4}}, path)
    with pytest.raises(CheckpointError, match=r"checksum of \(values\)"):
        load_checked(path)
    torch.save(state, path)
    assert load_checked(path)["counters"] == {"epoch": 3}


@pytest.mark.slow
def test_a_flipped_byte_in_latest_state_is_named_and_the_previous_good_state_used(base_run, tmp_path):
    data, ck, folder = copy_run(base_run, tmp_path)
    latest = folder / "latest_state.pth"
    original = torch.load(latest, weights_only=True)
    flip_byte_in_largest_tensor(latest)
    (bad,) = changed_tensors(torch.load(latest, weights_only=True), original)
    p = run(cmd(data, ck, "run", "--continue_train", "--n_epochs", "3"))
    assert f"warning: {latest}: corrupted, the checksum of {bad} does not match" in p.stdout
    assert f"resumed from {folder / '2_state.pth'}: epoch 3" in p.stdout
    flip_byte_in_largest_tensor(latest)  # the new latest; asked for by name it is an error, not a fallback
    p = run(cmd(data, ck, "run", "--continue_train", "--resume_from", latest), rc=1)
    assert f"{latest}: corrupted, the checksum of" in p.stderr
