"""DistributedDataParallel on the CPU: 2 gloo processes under torchrun on tiny data.

Checks that the run completes, that both ranks hold identical weights after the step, and that the
result matches one process with the same global batch (2 x batch 1 vs 1 x batch 2). Run as a script,
this file is the per-rank worker that torchrun starts.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def train_args(data, ckpt, name, batch_size):
    # pool_size 0: the image pool would hand each rank's D older fakes; dropout is off for cycle_gan
    return ["--dataroot", str(data), "--name", name, "--checkpoints_dir", str(ckpt), "--load_size", "36",
            "--crop_size", "32", "--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks", "--n_epochs", "1",
            "--n_epochs_decay", "0", "--display_id", "0", "--num_threads", "0", "--pool_size", "0",
            "--seed", "7", "--batch_size", str(batch_size), "--gpu_ids", "-1", "--print_freq", "1"]


def worker(out_dir, argv):
    """One rank: train, then save this rank's weights as rank{RANK}.pth."""
    from cyclegan.training import train
    from options.train_options import TrainOptions
    model = train(TrainOptions().parse(argv))
    rank = os.environ.get("RANK", "0")
    weights = {n: {k: v.detach().clone() for k, v in net.state_dict().items()} for n, net in model.nets()}
    torch.save({"weights": weights, "losses": dict(model.get_current_losses())},
               os.path.join(out_dir, f"rank{rank}.pth"))


def make_data(root, count=2):
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for side in ("trainA", "trainB"):
        (root / side).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(root / side / f"{i}.jpg")
    return root


def flat(weights):
    return {f"{n}.{k}": v.float() for n, sd in weights.items() for k, v in sd.items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    data = make_data(tmp / "data")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc_per_node=2",
           __file__, str(tmp), *train_args(data, tmp / "ckpt", "ddp", 1)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"torchrun failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    # the same global batch in one plain process (no torchrun variables), in this test process
    from cyclegan.training import train
    from options.train_options import TrainOptions
    single = train(TrainOptions().parse(train_args(data, tmp / "ckpt", "single", 2)))
    single_w = {n: {k: v.detach().clone() for k, v in net.state_dict().items()} for n, net in single.nets()}
    return {"tmp": tmp, "proc": proc, "single": single_w, "single_losses": dict(single.get_current_losses()),
            "ranks": [torch.load(tmp / f"rank{r}.pth", weights_only=True) for r in (0, 1)]}


@pytest.mark.slow
def test_two_gloo_ranks_complete_and_only_rank0_writes(runs):
    out = runs["proc"].stdout
    assert out.count("The number of training images") == 1, out  # rank 1 is silent
    assert "rank 0/2" in out and "gloo" in out
    save_dir = runs["tmp"] / "ckpt" / "ddp"
    assert (save_dir / "latest_state.pth").is_file() and (save_dir / "latest_net_G_A.pth").is_file()
    assert (save_dir / "loss_log.txt").read_text().count("Training Loss") == 1  # one writer
    assert (save_dir / "loss_log.txt").read_text().count("(epoch: 1, iters: 2,") == 1  # counters: global images


@pytest.mark.slow
def test_ranks_hold_identical_weights(runs):
    r0, r1 = flat(runs["ranks"][0]["weights"]), flat(runs["ranks"][1]["weights"])
    assert r0.keys() == r1.keys() and len(r0) > 0
    assert all(torch.equal(r0[k], r1[k]) for k in r0)


@pytest.mark.slow
def test_matches_one_process_with_the_same_global_batch(runs):
    # the losses are means over the batch, so the ranks' mean is the one-process loss
    for name, value in runs["single_losses"].items():
        mean = (runs["ranks"][0]["losses"][name] + runs["ranks"][1]["losses"][name]) / 2
        assert mean == pytest.approx(value, rel=1e-5, abs=1e-6), name
    ddp, single = flat(runs["ranks"][0]["weights"]), flat(runs["single"])
    assert ddp.keys() == single.keys()
    # Adam's first step is ~lr * sign(grad): where a gradient is ~0, float-order noise (an all-reduce sum
    # against a batch sum) can flip it and move that weight by up to 2 * lr; all other weights agree
    diff = torch.cat([(ddp[k] - single[k]).abs().flatten() for k in ddp])
    assert diff.max().item() <= 2 * 2e-4 * 1.01, diff.max().item()
    assert (diff > 1e-6).float().mean().item() < 0.01
    # and the step really changed the weights (the comparison is not vacuous)
    from cyclegan.models import create_model
    from options.train_options import TrainOptions
    torch.manual_seed(7)
    opt = TrainOptions().parse(train_args(runs["tmp"] / "data", runs["tmp"] / "ckpt", "fresh", 2))
    fresh = {f"{n}.{k}": v.float() for n, net in create_model(opt).nets() for k, v in net.state_dict().items()}
    assert any(not torch.allclose(fresh[k], ddp[k]) for k in ddp)


@pytest.mark.slow
def test_sigterm_to_one_rank_stops_both_at_the_same_iteration(tmp_path):
    """The ranks agree on stopping (at print_freq), so a signal to one of them cannot hang the other."""
    import signal
    import time
    data = make_data(tmp_path / "data", count=4)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    args = train_args(data, tmp_path / "ckpt", "sig", 1)
    args[args.index("--n_epochs") + 1] = "200"
    proc = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1",
                             "--nproc_per_node=2", "-m", "cyclegan.train", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if "End of epoch 1 " in line:
            break
    workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert len(workers) == 2, workers
    os.kill(int(workers[-1]), signal.SIGTERM)  # only one rank gets the signal
    start = time.time()
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out[-3000:]
    assert time.time() - start < 60 and "stopped by" in out
    state = torch.load(tmp_path / "ckpt" / "sig" / "latest_state.pth", weights_only=True)
    assert state["counters"]["total_iters"] > 4


def test_setup_without_torchrun_is_a_single_process(monkeypatch):
    from cyclegan.training import distributed
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)

    class Opt:
        device, seed, norm = torch.device("cpu"), 3, "instance"
    ctx = distributed.setup(Opt())
    assert (ctx.rank, ctx.world_size, ctx.enabled, ctx.is_main) == (0, 1, False, True)
    assert distributed.is_main()
    t = torch.tensor(2.5)
    assert distributed.average(t) is t
    assert distributed.Null().write("x") is None


def test_sync_batch_on_cpu_is_a_clear_error(monkeypatch):
    from cyclegan.training import distributed
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")

    class Opt:
        device, seed, norm = torch.device("cpu"), 3, "sync_batch"
    with pytest.raises(distributed.LaunchError, match="sync_batch"):
        distributed.setup(Opt())
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(distributed.LaunchError, match="WORLD_SIZE"):
        distributed.env_context()


if __name__ == "__main__":
    worker(sys.argv[1], sys.argv[2:])
