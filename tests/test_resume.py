"""Exact resume: a training subprocess SIGKILLed after its k-th save and resumed ends with the same
weights as an uninterrupted run; SIGINT/SIGTERM save and exit 0; a second signal exits at once;
a truncated checkpoint is named and an older full state is used instead."""
import signal
import subprocess
import sys

import pytest
import torch

from conftest import REPO, TINY, run_env

pytestmark = pytest.mark.slow  # every test trains in a subprocess and signals it

FLAGS = [*TINY, "--seed", "7", "--deterministic", "--n_epochs", "2", "--n_epochs_decay", "1",
         "--save_latest_freq", "2", "--print_freq", "100", "--save_epoch_freq", "1"]


def cmd(root, ck, name, *extra):
    return [sys.executable, "-u", "-m", "cyclegan.train", "--dataroot", str(root), "--name", name,
            "--checkpoints_dir", str(ck), *FLAGS, *map(str, extra)]


def run_to_end(args):
    p = subprocess.run(args, cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    return p


def start_and_signal(args, after_line, count, sig):
    """Start training, wait for `count` stdout lines containing `after_line`, then send `sig`."""
    proc = subprocess.Popen(args, cwd=REPO, env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    seen, out = 0, []
    for line in proc.stdout:
        out.append(line)
        if after_line in line:
            seen += 1
            if seen == count:
                proc.send_signal(sig)
                break
    rest, err = proc.communicate(timeout=300)
    return proc.returncode, "".join(out) + rest, err


def weights(run_dir):
    return {n: torch.load(run_dir / f"latest_net_{n}.pth", weights_only=True) for n in ("G_A", "G_B", "D_A", "D_B")}


def max_diff(a, b):
    return max((a[n][k].float() - b[n][k].float()).abs().max().item() for n in a for k in a[n])


def sigkill_and_resume_diff(root, ck, *extra):
    """Max weight difference between an uninterrupted run and one SIGKILLed after its 3rd save and resumed."""
    run_to_end(cmd(root, ck, "full", *extra))
    rc, out, _ = start_and_signal(cmd(root, ck, "killed", *extra), "saved the latest model", 3, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    resumed = run_to_end(cmd(root, ck, "killed", "--continue_train", *extra))
    assert "resumed from" in resumed.stdout and "latest_state.pth" in resumed.stdout
    diff = max_diff(weights(ck / "full"), weights(ck / "killed"))
    print(f"max weight difference after SIGKILL + resume {' '.join(map(str, extra))}: {diff:g}")
    return diff


def test_sigkill_after_kth_save_then_resume_matches_uninterrupted(tiny_dataset, tmp_path):
    assert sigkill_and_resume_diff(tiny_dataset, tmp_path / "ck") <= 1e-6


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_and_exits_zero(tiny_dataset, tmp_path, sig):
    ck = tmp_path / "ck"
    args = cmd(tiny_dataset, ck, "sig", "--n_epochs", 50, "--save_latest_freq", 1000)
    rc, out, err = start_and_signal(args, "End of epoch", 1, sig)
    assert rc == 0, err[-2000:]
    assert f"stopped by {signal.Signals(sig).name}" in out and "--continue_train" in out
    state = torch.load(ck / "sig" / "latest_state.pth", weights_only=True)
    assert state["counters"]["total_iters"] > 4  # past the first epoch's save
    resumed = run_to_end(cmd(tiny_dataset, ck, "sig", "--n_epochs", 2, "--continue_train"))
    assert "resumed from" in resumed.stdout


def test_second_signal_exits_at_once(tiny_dataset, tmp_path):
    # big enough iterations (about a second) that the second signal lands inside one
    args = cmd(tiny_dataset, tmp_path, "twice", "--n_epochs", 50, "--crop_size", 128, "--load_size", 128,
               "--ngf", 16)
    proc = subprocess.Popen(args, cwd=REPO, env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    for line in proc.stdout:
        if "End of epoch" in line:
            proc.send_signal(signal.SIGINT)
        elif "SIGINT received" in line:
            proc.send_signal(signal.SIGINT)
            break
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGINT and "second SIGINT: exiting now" in out


def test_truncated_checkpoint_is_named_and_an_older_one_used(tiny_dataset, tmp_path):
    ck = tmp_path / "ck"
    run_to_end(cmd(tiny_dataset, ck, "trunc"))
    latest = ck / "trunc" / "latest_state.pth"
    latest.write_bytes(latest.read_bytes()[: latest.stat().st_size // 2])
    p = run_to_end(cmd(tiny_dataset, ck, "trunc", "--continue_train", "--n_epochs", 3))
    assert f"{latest}: not a readable PyTorch file" in p.stdout
    assert "resumed from" in p.stdout and "3_state.pth" in p.stdout
    # asked for explicitly, a broken file is an error naming it (exit 1), not a silent fallback
    latest.write_bytes(b"PK\x03\x04 truncated")
    bad = subprocess.run(cmd(tiny_dataset, ck, "trunc", "--continue_train", "--resume_from", latest), cwd=REPO,
                         env=run_env(), capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and str(latest) in bad.stderr
