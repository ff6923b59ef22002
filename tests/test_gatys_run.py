"""Gatys style transfer end to end: optimisers and inits, the command, options, real data, benchmark."""
import json
import os
import subprocess
import sys
import time

import pytest
import torch

from cyclegan.nst import INITS, OPTIMIZERS, Stylizer, load_image, output_filename, run_files, save_image
from cyclegan.nst.image_ops import rgb_to_yiq
from options.gatys_options import GatysOptions, add_gatys_options
from conftest import REPO, SHARED_DATA as SHARED, smooth_image

ONE_THREAD_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def images(tmp_path):
    """A generated photo and painting on disk (the tests must pass without ../shared)."""
    photo, painting = tmp_path / "my photo.png", tmp_path / "painting.jpg"
    save_image(smooth_image(1, 48, 64), photo)
    save_image(smooth_image(2, 64, 64), painting)
    return photo, painting


@pytest.fixture(scope="module")
def shared_data():
    if not (SHARED / "styles").is_dir() or not (SHARED / "content").is_dir():
        pytest.skip(f"real images not found at {SHARED}/styles and {SHARED}/content (../shared/data is optional)")
    return SHARED


# ---- the optimiser -----------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("init", INITS)
def test_loss_halves_in_20_iterations(vgg_weights_file, optimizer, init):
    # Random weights from a file, 64 px. Content is matched at conv2_2: random conv4_2 features are
    # slow to reconstruct, which would make the style init (already near the style optimum) a test
    # of the random network rather than of the optimiser.
    st = Stylizer("vgg19", weights=str(vgg_weights_file), content_layers=["conv2_2"])
    targets = st.style_targets([smooth_image(2)])
    _, stats = st.stylize(smooth_image(1), targets, style_weight=1e5, tv_weight=1e-3, init=init,
                          optimizer=optimizer, num_iters=20, seed=0, progress=False)
    first, last = stats.history[0]["total"], stats.history[-1]["total"]
    assert stats.iterations == 20 and len(stats.history) == 21
    assert last <= 0.5 * first, f"{optimizer}/{init}: total loss {first:.4g} -> {last:.4g}"


def test_seed_makes_runs_repeatable(vgg_weights_file):
    st = Stylizer("vgg19", weights=str(vgg_weights_file), style_loss="mmd_gauss")
    targets = st.style_targets([smooth_image(2, 40, 40)])
    runs = [st.stylize(smooth_image(1, 40, 40), targets, init="gaussian", num_iters=2, seed=7, progress=False)[0]
            for _ in range(2)]
    other = st.stylize(smooth_image(1, 40, 40), targets, init="gaussian", num_iters=2, seed=8, progress=False)[0]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], other)


def test_preserve_color_keeps_the_photo_chrominance(vgg_weights_file):
    st = Stylizer("vgg19", weights=str(vgg_weights_file))
    photo = smooth_image(1, 48, 48) * 0.6 + 0.2  # away from 0 and 1 so clamping does not interfere
    targets = st.style_targets([smooth_image(2, 48, 48)], luminance_of=photo)
    out, _ = st.stylize(photo, targets, preserve_color=True, num_iters=3, progress=False)
    a, b = rgb_to_yiq(out), rgb_to_yiq(photo)
    assert (a[:, 1:] - b[:, 1:]).abs().mean() < 0.01  # I and Q come from the photo
    assert (a[:, :1] - b[:, :1]).abs().mean() > 1e-3  # the luminance was stylized
    with pytest.raises(ValueError, match="luminance_of"):
        st.stylize(photo, st.style_targets([smooth_image(2, 48, 48)]), preserve_color=True, num_iters=1)


# ---- names, options and the command --------------------------------------------------------------

def test_output_filename_encodes_the_parameters():
    name = output_filename("photos/golden_gate.jpg", ["vg_starry_night.jpg"], "lbfgs", "content", 512, "vgg19",
                           1, 1e5, 1e-6)
    assert name == "golden_gate__vg_starry_night__lbfgs_content_512px_vgg19_cw1_sw1e+05_tv1e-06.jpg"
    name = output_filename("my photo (1).png", ["a b.jpg", "c.jpg"], "adam", "gaussian", 256, "resnet50", 2.5, 1000,
                           0, blend=[0.7, 0.3], style_loss="mmd_gauss", preserve_color=True)
    assert name == "my_photo_1__a_b+c_blend0.7-0.3__adam_gaussian_256px_resnet50_cw2.5_sw1000_tv0_mmd_gauss_pc.jpg"


def test_options_parse_lists_and_reject_inconsistent_flags(capsys):
    opt = GatysOptions().parse(["--content", "p.jpg", "--style", "a.jpg", "--style", "b.jpg", "--style_blend", "2,1",
                                "--style_layers", "conv1_1,conv3_1", "--style_layer_weights", "1,0.5"])
    assert opt.style == ["a.jpg", "b.jpg"] and opt.style_blend == [2.0, 1.0]
    assert opt.style_layers == ["conv1_1", "conv3_1"] and opt.style_layer_weights == [1.0, 0.5]
    assert (opt.backbone, opt.style_loss, opt.pooling, opt.optimizer, opt.init) == ("vgg19", "gram", "avg", "lbfgs",
                                                                                  "content")
    for bad, needle in ((["--style_blend", "1,2,3"], "--style_blend has 3 weights for 2"),
                        (["--style_layers", "conv1_1", "--style_layer_weights", "1,2"], "--style_layer_weights"),
                        (["--num_iters", "0"], "--num_iters")):
        with pytest.raises(SystemExit):
            GatysOptions().parse(["--content", "p.jpg", "--style", "a.jpg", "--style", "b.jpg"] + bad)
        assert needle in capsys.readouterr().err
    # the comparison harness can add every flag to its own parser under the same names
    import argparse
    harness = add_gatys_options(argparse.ArgumentParser())
    assert harness.parse_args(["--style_loss", "bn", "--preserve_color"]).preserve_color


def _gatys(args, env=ONE_THREAD_ENV, timeout=240):
    return subprocess.run([sys.executable, "-m", "cyclegan.gatys", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_command_end_to_end(images, tmp_path, vgg_weights_file):
    photo, painting = images
    out = tmp_path / "out"
    r = _gatys(["--content", photo, "--style", painting, "--output", out, "--weights", vgg_weights_file,
                "--image_size", 48, "--num_iters", 4, "--save_every", 2, "--seed", 0, "--device", "cpu"])
    assert r.returncode == 0, r.stderr
    name = "my_photo__painting__lbfgs_content_48px_vgg19_cw1_sw1e+06_tv0.01.jpg"
    assert (out / name).is_file() and str(out / name) in r.stdout
    assert (out / name.replace(".jpg", "_iter0002.jpg")).is_file()
    assert load_image(out / name).shape == (1, 3, 36, 48)
    assert "loss=" in r.stderr  # the progress line shows the losses
    assert "\r" not in r.stderr and "gatys lbfgs: 4/4 100.0%" in r.stderr  # a plain line in logs, no redraws


@pytest.mark.slow
def test_command_without_weights_says_how_to_get_them(images, tmp_path):
    photo, painting = images
    env = {**ONE_THREAD_ENV, "TORCH_HOME": str(tmp_path / "empty_torch_home")}
    start = time.perf_counter()
    r = _gatys(["--content", photo, "--style", painting, "--output", tmp_path / "out"], env=env, timeout=60)
    assert r.returncode == 1 and time.perf_counter() - start < 30  # mostly Python and torch start-up
    assert "vgg19-dcbb9e9d.pth" in r.stderr and "--weights" in r.stderr and "download" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_command_random_weights_warn_and_bad_input_is_named(images, tmp_path):
    photo, painting = images
    r = _gatys(["--content", photo, "--style", painting, "--output", tmp_path / "x.png", "--weights", "random",
                "--image_size", 32, "--num_iters", 1, "--optimizer", "adam", "--device", "cpu"])
    assert r.returncode == 0 and "RANDOM" in r.stderr and (tmp_path / "x.png").is_file()
    r = _gatys(["--content", tmp_path / "missing.jpg", "--style", painting, "--weights", "random"])
    assert r.returncode == 1 and "missing.jpg" in r.stderr and "Traceback" not in r.stderr


# ---- real images ----------------------------------------------------------------------------------

def test_real_photo_and_blended_paintings(shared_data, tmp_path, vgg_weights_file):
    photo = sorted((shared_data / "content").iterdir())[0]
    styles = sorted((shared_data / "styles").glob("*.jpg"))[:2]
    path, stats = run_files(photo, styles, tmp_path, blend=[0.7, 0.3], image_size=64, weights=str(vgg_weights_file),
                            content_layers=["conv2_2"], style_weight=1e5, num_iters=6, seed=0, device="cpu",
                            progress=False)
    assert path.is_file() and path.name.startswith(f"{photo.stem}__{styles[0].stem}+{styles[1].stem}_blend0.7-0.3")
    assert stats.history[-1]["total"] < stats.history[0]["total"]


def test_real_paintings_pool_as_a_domain(shared_data, vgg_weights_file):
    # Domain mode for the comparison harness: one target from all of Van Gogh's paintings at once.
    st = Stylizer("vgg19", weights=str(vgg_weights_file))
    paintings = [load_image(p, 48) for p in sorted((shared_data / "styles").glob("*.jpg"))]
    assert len(paintings) >= 2
    pooled = st.style_targets(paintings)
    single = [st.style_targets([p]) for p in paintings]
    for layer in st.style_layers:
        mean = sum(t.layers[layer] for t in single) / len(single)
        assert torch.allclose(pooled.layers[layer], mean, rtol=1e-4, atol=1e-12)


# ---- benchmark ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_benchmark_prints_json_lines():
    r = subprocess.run([sys.executable, "-m", "cyclegan.benchmark", "gatys", "--sizes", "32", "--losses",
                        "gram,mmd_gauss", "--evals", "1", "--warmup", "0", "--baseline_repeats", "1",
                        "--device", "cpu"], cwd=REPO, env=ONE_THREAD_ENV, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    by_loss = {row["loss"]: row for row in rows if "loss" in row}
    assert set(by_loss) == {"gram", "mmd_gauss"}
    for row in by_loss.values():
        assert row["size"] == 32 and row["ms_per_eval"] > 0 and row["peak_mb"] > 0
        assert row["gflops"] > 0 and 0 < row["gemm_fraction"] and row["ratio_vs_full"] > 0
    assert rows[-1]["summary"] and rows[-1]["full_vgg19_ms_32"] > 0
    # anything but `gatys` goes to the CycleGAN benchmark, whose parser names a bad argument
    r = subprocess.run([sys.executable, "-m", "cyclegan.benchmark", "--bogus"], cwd=REPO, env=ONE_THREAD_ENV,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "unrecognized arguments: --bogus" in r.stderr
