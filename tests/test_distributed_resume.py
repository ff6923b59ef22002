"""Distributed resume: two gloo ranks on the CPU under torchrun, SIGKILLed (agent and both ranks) during epoch 2,
resumed with `torchrun ... --continue_train`, end with the weights and Adam states of an uninterrupted two-rank
run, to the tolerance tests/test_distributed.py documents. And when rank 0 refuses the run folder, every rank
stops without writing."""
import hashlib
import os
import re
import signal
import subprocess
import sys

import pytest
import torch

from conftest import REPO, TINY
from cyclegan.io import leaves
from test_distributed import make_data

pytestmark = pytest.mark.slow  # torchrun subprocesses

LR = 2e-4  # the default --lr


def torchrun(data, ck, name, *extra):
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc_per_node=2",
            "-m", "cyclegan.train", "--dataroot", str(data), "--name", name, "--checkpoints_dir", str(ck), *TINY,
            "--gpu_ids", "-1", "--pool_size", "0", "--seed", "7", "--deterministic", "--batch_size", "1",
            "--n_epochs", "3", "--n_epochs_decay", "0", "--save_epoch_freq", "1", "--save_latest_freq", "2",
            *extra]


def env():
    e = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1",
             PYTHONUNBUFFERED="1")
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        e.pop(key, None)
    return e


def run(args):
    return subprocess.run(args, cwd=REPO, env=env(), capture_output=True, text=True, timeout=400)


def tensors(obj):
    return [(k, v.float()) for k, v in leaves(obj) if torch.is_tensor(v)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("ddp_resume") / "data", count=8)  # 4 steps per rank per epoch


def test_sigkill_during_epoch_2_then_torchrun_continue_train_matches_uninterrupted(data, tmp_path):
    ck = tmp_path / "ck"
    full = run(torchrun(data, ck, "full"))
    assert full.returncode == 0, full.stdout[-3000:] + full.stderr[-3000:]

    agent = subprocess.Popen(torchrun(data, ck, "killed"), cwd=REPO, env=env(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    out = []
    for line in agent.stdout:
        out.append(line)
        if "saved the latest model (epoch 2, total_iters 12)" in line:  # 2 of epoch 2's 4 steps done
            break
    ranks = subprocess.run(["pgrep", "-P", str(agent.pid)], capture_output=True, text=True).stdout.split()
    assert len(ranks) == 2, "".join(out)[-3000:]
    for pid in [agent.pid, *map(int, ranks)]:  # the agent first, so it cannot SIGTERM the ranks into a clean save
        os.kill(pid, signal.SIGKILL)
    agent.communicate(timeout=60)
    assert agent.returncode == -signal.SIGKILL

    resumed = run(torchrun(data, ck, "killed", "--continue_train"))
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    m = re.search(r"resumed from \S+latest_state\.pth: epoch 2, (\d+) images seen", resumed.stdout)
    assert m and 12 <= int(m.group(1)) < 16, resumed.stdout[-3000:]  # mid-epoch 2 (epoch 1 = 8 images)
    assert resumed.stdout.count("resumed from") == 1  # rank 1 resumes silently
    assert "train.lock was left by pid" in resumed.stdout  # rank 0's lock, from the killed run, taken over

    a = torch.load(ck / "full" / "latest_state.pth", weights_only=True)
    b = torch.load(ck / "killed" / "latest_state.pth", weights_only=True)
    progress = [{k: v for k, v in s["counters"].items() if k != "train_seconds"} for s in (a, b)]  # not the clock
    assert progress[0] == progress[1] and a["counters"]["total_iters"] == 24
    assert b["counters"]["train_seconds"] > 0
    for part in ("nets", "optimizers"):
        ta, tb = dict(tensors(a[part])), dict(tensors(b[part]))
        assert ta.keys() == tb.keys() and len(ta) > 0
        diff = torch.cat([(ta[k] - tb[k]).abs().flatten() for k in ta])
        print(f"{part}: max |uninterrupted - killed+resumed| = {diff.max().item():g}")
        if part == "nets":  # the tolerance of test_distributed.py (Adam steps ~lr; float-order noise may flip one)
            assert diff.max().item() <= 2 * LR * 1.01
        assert (diff > 1e-6).float().mean().item() < 0.01
    steps = [k for k in ta if k.endswith("/step")]  # both Adams took the same number of steps (12 per rank)
    assert steps and all(ta[k].item() == tb[k].item() == 12 for k in steps)


def test_when_rank_0_refuses_the_folder_every_rank_stops_and_nothing_is_written(data, tmp_path):
    ck = tmp_path / "ck"
    first = run(torchrun(data, ck, "taken", "--n_epochs", "1"))
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    folder = ck / "taken"
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}
    again = run(torchrun(data, ck, "taken", "--n_epochs", "1"))
    assert again.returncode != 0
    assert f"error: {folder} already holds a run" in again.stderr
    assert f"error: rank 1: rank 0 refused to start: {folder} already holds a run" in again.stderr
    assert "The number of training images" not in again.stdout  # no rank got as far as the data
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}
    assert after == before
