"""The model's runtime surface: configure(speed) before or after setup, the full state_dict round trip
(nets, optimizers, schedulers, pools, scalers), setup(load=...), and general code free of CycleGAN names."""
import random
import subprocess
import sys
import warnings

import pytest
import torch

from cyclegan.io import atomic_save, safe_load
from cyclegan.models import create_model, speed
from conftest import REPO, run_env
from options.train_options import TrainOptions


def make_opt(tmp_path, *extra):
    return TrainOptions().parse(["--dataroot", str(tmp_path), "--name", "rt", "--checkpoints_dir", str(tmp_path),
                                 "--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks", "--gpu_ids", "-1",
                                 "--seed", "1", "--display_id", "0", "--pool_size", "3", *extra])


def batch(seed, size=32):
    g = torch.Generator().manual_seed(seed)
    return {"A": torch.rand(2, 3, size, size, generator=g) * 2 - 1,
            "B": torch.rand(2, 3, size, size, generator=g) * 2 - 1, "A_paths": ["a1", "a2"], "B_paths": ["b1", "b2"]}


def step(model, seed):
    random.seed(seed)  # the image pools draw from Python's RNG
    model.set_input(batch(seed))
    model.optimize_parameters()


def weights(model):
    return {f"{n}.{k}": v for n, net in model.nets() for k, v in net.state_dict().items()}


def test_state_dict_round_trip_resumes_bitwise(tmp_path):
    opt = make_opt(tmp_path, "--lr_policy", "step", "--lr_decay_iters", "1")
    torch.manual_seed(0)
    a = create_model(opt).configure()
    a.setup(opt, load=False)
    for i in range(2):
        step(a, i)
    a.update_learning_rate()
    atomic_save(a.state_dict(), tmp_path / "state.pth")
    state = safe_load(tmp_path / "state.pth", map_location="cpu")  # weights_only: plain containers
    assert set(state) == {"nets", "optimizers", "schedulers", "pools"}
    assert set(state["optimizers"]) == set(state["schedulers"]) == {"G", "D"}
    assert set(state["pools"]) == {"fake_A_pool", "fake_B_pool"} and len(state["pools"]["fake_A_pool"]["images"]) == 3

    torch.manual_seed(123)  # different initial weights: everything must come from the state
    b = create_model(opt)
    b.setup(opt, load=False)
    b.load_state_dict(state)
    b.configure()  # after the load, as testing does
    assert b.optimizers[0].param_groups[0]["lr"] == a.optimizers[0].param_groups[0]["lr"] < opt.lr
    assert b.schedulers[0].last_epoch == a.schedulers[0].last_epoch == 1
    step(a, 7)
    step(b, 7)
    wa, wb = weights(a), weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert all(torch.equal(x, y) for x, y in zip(a.fake_A_pool.images, b.fake_A_pool.images))


def test_fp16_scalers_are_part_of_the_state(tmp_path):
    opt = make_opt(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = speed.resolve("cpu", amp="fp16")
    torch.manual_seed(0)
    a = create_model(opt).configure(cfg)
    try:
        step(a, 0)
    except RuntimeError as e:  # an older torch without CPU fp16 autocast or CPU fused Adam
        pytest.skip(f"fp16 autocast / fused Adam not supported on this CPU build: {e}")
    a.scalers[0].update(new_scale=1234.0)
    state = a.state_dict()
    assert set(state["scalers"]) == {"G", "D"}
    b = create_model(opt).configure(cfg)
    assert b.scalers[0].get_scale() != 1234.0
    b.load_state_dict(state)
    assert b.scalers[0].get_scale() == 1234.0
    assert all(g["fused"] for o in b.optimizers for g in o.param_groups)


def test_configure_before_or_after_setup_is_the_same(tmp_path):
    opt = make_opt(tmp_path)
    results = []
    for before in (True, False):
        torch.manual_seed(0)
        model = create_model(opt)
        if before:
            model.configure(speed.resolve("cpu", fast_norm=True))
        model.setup(opt, load=False)
        if not before:
            model.configure(speed.resolve("cpu", fast_norm=True))
        model.configure(model.speed)  # again: changes nothing
        assert any(isinstance(m, speed.FastInstanceNorm2d) for m in model.netG_A.modules())
        step(model, 0)
        results.append(weights(model))
    assert all(torch.equal(results[0][k], results[1][k]) for k in results[0])


def test_setup_load_true_reads_the_official_weight_files(tmp_path):
    opt = make_opt(tmp_path)
    torch.manual_seed(0)
    a = create_model(opt)
    a.save_networks("latest")
    torch.manual_seed(5)
    b = create_model(opt)
    b.setup(opt, load=False)
    assert not torch.equal(weights(a)["G_A.model.1.weight"], weights(b)["G_A.model.1.weight"])
    b.setup(opt, load=True)
    assert all(torch.equal(weights(a)[k], weights(b)[k]) for k in weights(a))


def test_visual_paths_name_b_side_pictures_after_the_b_image(tmp_path):
    model = create_model(make_opt(tmp_path))
    model.set_input(batch(0))
    paths = model.get_visual_paths()
    assert paths["fake_B"] == ["a1", "a2"] and paths["fake_A"] == ["b1", "b2"] and paths["rec_B"] == ["b1", "b2"]


@pytest.mark.slow
def test_general_code_names_no_cyclegan_parts_and_testing_imports_no_training():
    """The loop, the quality curves, the benchmark, the display and the graph step ask the model (current_lr,
    epoch_metric, generators, runtime, capture_spec) instead of naming CycleGAN's attributes."""
    display = [str(p.relative_to(REPO)) for p in (REPO / "cyclegan" / "display").glob("*.py")]
    general = ["cyclegan/runs/checkpoint.py", "cyclegan/training/loop.py", "cyclegan/training/quality.py",
               "cyclegan/testing.py", "cyclegan/bench/cyclegan.py", "cyclegan/cli/benchmark.py",
               "cyclegan/models/graph_step.py", *display]
    cyclegan_parts = ("optimizer_G", "optimizer_D", "fake_A_pool", "fake_B_pool", "B_SIDE", "gpu_ids[0]", "netG_A",
                      "netG_B", "netD_A", "netD_B", "loss_G", "real_A", "real_B", "model.batched", "param_groups[0]")
    for rel in general:
        text = (REPO / rel).read_text()
        for name in cyclegan_parts:
            if rel != "cyclegan/testing.py" or name not in ("real_A", "real_B"):  # the page's column names
                assert name not in text, (rel, name)
    code = ("import sys, cyclegan.testing; "
            "bad = [m for m in sys.modules if m.startswith(('cyclegan.training', 'options'))]; print(bad)")
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=run_env(), capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stdout + p.stderr
