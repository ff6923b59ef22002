"""cyclegan-fast-nst at 64 px with random VGG weights saved by the test: training lowers the loss and writes
its run folder (options, checkpoint, loss log, samples page), a resumed run ends bit-identical to an
uninterrupted one, stylisation keeps every input's size, and bad runs fail clearly without leaving a run."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO, make_images, run_env

pytestmark = pytest.mark.slow  # every test runs cyclegan-fast-nst or the benchmark as a subprocess

# Shallow layers keep the truncated VGG small: these tests check the machinery, not the art.
SMALL = ["--image_size", "64", "--ngf", "8", "--n_res", "1", "--content_layers", "conv2_1",
         "--style_layers", "conv1_1,conv2_1", "--seed", "3"]


def fast_nst(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "cyclegan.fast_nst", *map(str, args)], cwd=REPO, env=run_env(),
                       capture_output=True, text=True, timeout=600)
    if check:
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fastnst")
    make_images(tmp / "photos", 6, size=(80, 72), seed=1)
    style = make_images(tmp / "styles", 2, size=(64, 64), seed=9)[0]
    return tmp, style


@pytest.fixture(scope="module")
def trained(data, vgg_weights_file):
    tmp, style = data
    r = fast_nst("train", "--photos", tmp / "photos", "--style", tmp / "styles", "--name", "run",
                 "--checkpoints_dir", tmp / "ck", "--weights", vgg_weights_file, "--num_iters", 20, "--batch_size", 2,
                 "--print_freq", 1, "--save_freq", 10, *SMALL)
    return tmp / "ck" / "run", r


def logged_losses(run_dir):
    lines = (run_dir / "loss_log.txt").read_text().splitlines()
    return [float(m.group(1)) for m in (re.search(r"total: ([0-9.e+-]+)", ln) for ln in lines) if m]


def test_twenty_iterations_lower_the_loss(trained):
    run_dir, r = trained
    losses = logged_losses(run_dir)
    assert len(losses) == 20
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]), losses
    state = torch.load(run_dir / "latest_state.pth", weights_only=True)
    assert state["counters"]["iteration"] == 20 and state["counters"]["history"]["total"][-1] == pytest.approx(
        losses[-1], rel=1e-2, abs=1e-3)
    assert (run_dir / "fast_nst_train_opt.json").is_file() and "loss" in r.stdout


def test_samples_page_shows_the_samples_and_the_loss_plot(trained):
    run_dir, _ = trained
    html = (run_dir / "web" / "index.html").read_text()
    assert "<svg" in html and "iteration 20" in html
    shown = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert len(shown) == 8  # 4 photos, each beside its stylisation
    for src in shown:
        assert (run_dir / "web" / src).is_file()


def test_stylize_keeps_each_input_size(trained, tmp_path):
    run_dir, _ = trained
    inputs = tmp_path / "in"
    make_images(inputs, 1, size=(50, 37), seed=4, prefix="odd")
    make_images(inputs / "sub", 1, size=(64, 64), seed=5, prefix="square", ext=".png")
    fast_nst("stylize", "--name", "run", "--checkpoints_dir", run_dir.parent, "--input", inputs,
             "--output", tmp_path / "out")
    for src, out in ((inputs / "odd0.jpg", tmp_path / "out" / "odd0.png"),
                     (inputs / "sub" / "square0.png", tmp_path / "out" / "sub" / "square0.png")):
        assert Image.open(out).size == Image.open(src).size
        assert np.asarray(Image.open(out)).std() > 1  # an image, not a blank
    single = fast_nst("stylize", "--name", "run", "--checkpoints_dir", run_dir.parent,
                      "--input", inputs / "odd0.jpg", "--output", tmp_path / "one", "--image_size", 32)
    assert Image.open(tmp_path / "one" / "odd0.png").size == (32, 24), single.stdout


def test_resume_ends_bit_identical_to_an_uninterrupted_run(data, vgg_weights_file, tmp_path):
    tmp, style = data
    # on the CPU also where a GPU exists: CUDA's reflection-pad backward adds with atomics (not bit-repeatable)
    common = ["--photos", tmp / "photos", "--style", style, "--checkpoints_dir", tmp_path, "--weights",
              vgg_weights_file, "--batch_size", 1, "--save_freq", 3, "--device", "cpu", *SMALL]
    fast_nst("train", "--name", "straight", "--num_iters", 6, *common)
    fast_nst("train", "--name", "resumed", "--num_iters", 3, *common)
    again = fast_nst("train", "--name", "resumed", "--num_iters", 6, *common, check=False)
    assert again.returncode != 0 and "--continue_train" in again.stderr  # no silent restart over a run
    fast_nst("train", "--name", "resumed", "--num_iters", 6, "--continue_train", *common)
    a = torch.load(tmp_path / "straight" / "latest_net_T.pth", weights_only=True)
    b = torch.load(tmp_path / "resumed" / "latest_net_T.pth", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    first = torch.load(tmp_path / "straight" / "latest_state.pth", weights_only=True)
    assert all(torch.equal(first["nets"]["T"][k], a[k]) for k in a)  # the full state holds the same net


def test_missing_weights_fail_clearly_and_leave_no_run(data, tmp_path):
    tmp, style = data
    r = fast_nst("train", "--photos", tmp / "photos", "--style", style, "--name", "x", "--checkpoints_dir", tmp_path,
                 "--weights", tmp_path / "nope.pth", "--num_iters", 2, *SMALL, check=False)
    assert r.returncode == 1 and "nope.pth: no such file" in r.stderr
    assert not (tmp_path / "x").exists()
    r = fast_nst("stylize", "--name", "absent", "--checkpoints_dir", tmp_path, "--input", style, check=False)
    assert r.returncode == 1 and "absent" in r.stderr and "cyclegan-fast-nst train" in r.stderr


def test_benchmark_prints_a_line_per_size_and_batch():
    r = subprocess.run([sys.executable, "-m", "cyclegan.benchmark", "fast_nst", "--sizes", "32", "--batch", "2",
                        "--repeats", "1", "--no_gatys"], cwd=REPO, env=run_env(), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    measured = [row for row in rows if row["device"] == "cpu"]
    assert [(row["size"], row["batch"]) for row in measured] == [(32, 1), (32, 2)]
    assert all(row["images_per_s"] > 0 and row["peak_mb"] > 0 for row in measured)
    if not torch.cuda.is_available():
        assert {"benchmark": "fast_nst", "device": "cuda", "result": "not measured"} in rows


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (the bf16 + channels_last path)")
def test_gpu_defaults_match_the_cpu_output(trained):
    from cyclegan.inference import load
    run_dir, _ = trained
    x = torch.rand(2, 3, 48, 40, generator=torch.Generator().manual_seed(0))
    cpu, gpu = load(run_dir, device="cpu"), load(run_dir, device="cuda")
    assert gpu.speed.amp_dtype == torch.bfloat16 and gpu.speed.memory_format == torch.channels_last
    assert (gpu(x) - cpu(x)).abs().mean() < 0.02  # bf16 rounding only


def test_a_second_process_is_refused_by_the_run_lock(data, vgg_weights_file, tmp_path):
    """The run folder is locked as cyclegan-train's is: while a real process holds it, training into it exits 2
    naming the holder and writes nothing; after the holder is SIGKILLed the lock is taken over."""
    tmp, style = data
    folder = tmp_path / "busy"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom cyclegan.runs.run_folder import "
                               "RunLock\nRunLock(sys.argv[1]).acquire()\nprint('held', flush=True)\ntime.sleep(600)",
                               str(folder)], cwd=REPO, env=run_env(), stdout=subprocess.PIPE, text=True)
    args = ["train", "--photos", tmp / "photos", "--style", style, "--name", "busy", "--checkpoints_dir", tmp_path,
            "--weights", vgg_weights_file, "--num_iters", 2, *SMALL]
    try:
        assert holder.stdout.readline().strip() == "held"
        r = fast_nst(*args, check=False)
        assert r.returncode == 1, r.stdout + r.stderr
        assert f"is in use by another training process: pid {holder.pid}" in r.stderr
        assert sorted(p.name for p in folder.iterdir()) == ["train.lock"]  # nothing written beside the lock
    finally:
        holder.kill()
        holder.wait(timeout=60)
    r = fast_nst(*args)
    assert f"was left by pid {holder.pid}" in r.stdout and (folder / "latest_state.pth").is_file()
    assert not (folder / "train.lock").exists()  # released at the end
