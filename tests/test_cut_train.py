"""--model cut end to end (slow: training subprocesses): the run folder holds the official-style
{epoch}_net_G/_D/_F.pth files and the full states; a SIGKILLed run resumed with --continue_train ends with
weights equal (torch.equal) to an uninterrupted run's, for CUT and FastCUT (whose flips and patch positions
come from numpy's generator); cyclegan-test and cyclegan-export take the run; --eval_freq scores the one
generator (C2ST of B only)."""
import json
import signal
import subprocess
import sys

import pytest
import torch

import cyclegan
from conftest import REPO, TINY, make_images, run_env
from test_resume import run_to_end, start_and_signal

pytestmark = pytest.mark.slow

CUT = ["--model", "cut", "--num_patches", "16", "--netF_nc", "8"]
FLAGS = [*TINY, *CUT, "--seed", "7", "--deterministic", "--n_epochs", "2", "--n_epochs_decay", "1",
         "--save_latest_freq", "2", "--print_freq", "100", "--save_epoch_freq", "1"]
NETS = ("G", "D", "F")


def cmd(root, ck, name, *extra):
    return [sys.executable, "-u", "-m", "cyclegan.train", "--dataroot", str(root), "--name", name,
            "--checkpoints_dir", str(ck), *FLAGS, *map(str, extra)]


def weights(run_dir):
    return {n: torch.load(run_dir / f"latest_net_{n}.pth", weights_only=True) for n in NETS}


@pytest.mark.parametrize("mode, extra", [("CUT", ()), ("FastCUT", ()), ("FastCUT", ("--diffaug", "translation"))])
def test_a_killed_cut_run_resumes_bitwise_exactly(tiny_dataset, tmp_path, mode, extra):
    ck = tmp_path / "ck"
    run_to_end(cmd(tiny_dataset, ck, "full", "--CUT_mode", mode, *extra))
    files = {p.name for p in (ck / "full").iterdir()}
    for epoch in ("1", "2", "3", "latest"):
        assert {f"{epoch}_net_{n}.pth" for n in NETS} <= files, files
    assert "latest_state.pth" in files
    rc, out, _ = start_and_signal(cmd(tiny_dataset, ck, "killed", "--CUT_mode", mode, *extra),
                                  "saved the latest model", 3, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    # the mode and its flags come back from train_opt.json (apply_presets' RESUMED)
    resumed = run_to_end(cmd(tiny_dataset, ck, "killed", "--continue_train"))
    assert "resumed from" in resumed.stdout and "latest_state.pth" in resumed.stdout
    a, b = weights(ck / "full"), weights(ck / "killed")
    assert a["F"] and set(a["F"]) == set(b["F"])  # F's MLPs are in the files from the start
    for n in NETS:
        for k in a[n]:
            assert torch.equal(a[n][k], b[n][k]), f"{n}.{k} differs after resume"
    saved = json.loads((ck / "full" / "train_opt.json").read_text())
    assert saved["flip_equivariance"] == (mode == "FastCUT") and saved["nce_idt"] == (mode == "CUT")
    assert saved["diffaug"] == (extra[1] if extra else "")


def test_cut_run_tests_exports_and_loads(tiny_dataset, tmp_path):
    ck = tmp_path / "ck"
    run_to_end(cmd(tiny_dataset, ck, "c"))
    t = cyclegan.load(ck / "c", device="cpu", amp="none")
    assert t.info["kind"] == "cut" and t.info["netG"] == "resnet_6blocks" and t.info["ngf"] == 4
    # cyclegan-test with the saved model (cut: G only) writes real_A / fake_B pictures
    r = subprocess.run([sys.executable, "-m", "cyclegan.test", "--dataroot", str(tiny_dataset), "--name", "c",
                        "--checkpoints_dir", str(ck), "--results_dir", str(tmp_path / "res"), "--gpu_ids", "-1",
                        "--num_threads", "0", "--crop_size", "32", "--load_size", "32"],
                       cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    images = {p.name for p in (tmp_path / "res" / "c" / "test_latest" / "images").iterdir()}
    assert any(n.endswith("_fake_B.png") for n in images) and not any("rec_A" in n for n in images)
    # --model test (one generator through cyclegan.load) and the video stylizer and demo catalogue take the run
    r = subprocess.run([sys.executable, "-m", "cyclegan.test", "--dataroot", str(tiny_dataset / "testA"), "--name",
                        "c", "--model", "test", "--checkpoints_dir", str(ck), "--results_dir", str(tmp_path / "res1"),
                        "--gpu_ids", "-1", "--num_threads", "0", "--crop_size", "32", "--load_size", "32"],
                       cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert list((tmp_path / "res1" / "c" / "test_latest" / "images").glob("*_fake.png"))
    from cyclegan.media.stylizers import cyclegan_frames
    from cyclegan.webdemo.catalog import discover_models
    frames = cyclegan_frames(ck / "c", amp="none")
    x = torch.rand(2, 3, 36, 44)
    assert torch.allclose(frames.translate(x), t.translate(x), atol=1e-6)
    entry = discover_models(str(ck))["c"]
    assert entry.kind == "cut" and entry.label == "c (CUT)" and entry.method == "cyclegan"
    # cyclegan-export: the ONNX graph gives the .pth's output
    onnx_path = tmp_path / "cut.onnx"
    r = subprocess.run([sys.executable, "-m", "cyclegan.export", "--name", "c", "--checkpoints_dir", str(ck),
                        "--output", str(onnx_path)], cwd=REPO, env=run_env(), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    o = cyclegan.load(onnx_path)
    x = torch.rand(1, 3, 40, 52)
    assert float((o(x) - t(x)).abs().max()) < 2e-3


def heldout_dataset(root):
    """4 training images per domain and 10 held-out ones (enough for the C2ST), 36 px."""
    for i, (sub, n) in enumerate((("trainA", 4), ("trainB", 4), ("testA", 10), ("testB", 10))):
        make_images(root / sub, n, size=(36, 36), seed=i, prefix=f"{sub}_")
    return root


def test_eval_freq_scores_the_one_generator(tmp_path):
    root = heldout_dataset(tmp_path / "data")
    ck = tmp_path / "ck"
    run_to_end([sys.executable, "-m", "cyclegan.train", "--dataroot", str(root), "--name", "q", "--checkpoints_dir",
                str(ck), *TINY, *CUT, "--n_epochs", "1", "--n_epochs_decay", "0", "--eval_freq", "1",
                "--eval_c2st_steps", "8"])
    rec = json.loads((ck / "q" / "eval_log.jsonl").read_text().splitlines()[0])
    assert isinstance(rec["c2st_B"], float) and 0 <= rec["c2st_B"] <= 1 and rec["c2st_A"] is None
    assert rec["cycle_l1_A"] is None and "one generator" in " ".join(rec["notes"])


def test_the_ablation_measures_cut_and_fastcut_beside_the_official_recipe(tmp_path):
    from test_ablation import run_sweep, sweep_cmd
    root = tmp_path / "data"
    for i, sub in enumerate(("trainA", "trainB", "testA", "testB")):
        make_images(root / sub, 12, size=(36, 36), seed=i)
    ck = tmp_path / "ck"
    out = run_sweep(sweep_cmd(root, ck, "--variants", "official,cut,fastcut"))
    assert "training official_s1" in out
    data = json.loads((ck / "sw" / "ablation.json").read_text())
    for name in ("cut", "fastcut"):
        final = data["summary"][name]["final"]
        assert final["c2st_A"]["complete"] and 0 <= final["c2st_A"]["mean"] <= 1, final  # photo -> painting
        assert not final["c2st_B"].get("mean"), final  # one generator: nothing into B
        assert data["summary"][name]["cost"]["ratio"] > 0
    runs = sorted(p.name for p in (ck / "sw" / "runs").iterdir() if p.is_dir())
    assert sum((ck / "sw" / "runs" / r / "latest_net_G.pth").exists() for r in runs) == 2, runs
    assert len(list((ck / "sw" / "samples" / "cut").glob("*.png"))) == 2


def test_compare_shows_a_cut_run_as_a_fourth_method(tiny_run, vgg_weights_file, tmp_path):
    root = tmp_path / "data"
    for i, sub in enumerate(("trainA", "trainB", "testA", "testB")):
        make_images(root / sub, 6, size=(48, 40), seed=i)
    ck = tmp_path / "ck"
    tiny_run.copy_to(ck)
    run_to_end([sys.executable, "-m", "cyclegan.train", "--dataroot", str(root), "--name", "tinycut",
                "--checkpoints_dir", str(ck), *TINY, *CUT, "--direction", "BtoA", "--n_epochs", "1",
                "--n_epochs_decay", "0"])
    args = [sys.executable, "-m", "cyclegan.compare", "--name", tiny_run.name, "--checkpoints_dir", str(ck),
            "--photos", str(root / "testB"), "--style", str(root / "testA"), "--num", "2", "--image_size", "32",
            "--weights", str(vgg_weights_file), "--num_iters", "2", "--style_mode", "domain",
            "--results_dir", str(tmp_path / "res"), "--seed", "1", "--cut", "tinycut"]
    r = subprocess.run(args, cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = tmp_path / "res" / f"compare_{tiny_run.name}"
    data = json.loads((out / "metrics.json").read_text())
    assert data["summary"]["cut"]["images"] == 2 and data["summary"]["cut"]["time_s"] > 0
    assert len(list((out / "images").glob("*_cut.png"))) == 2
    page = (out / "index.html").read_text()
    assert "CUT (Park et al.; --model cut)" in page and "translates its dataset's B -&gt; A" in page
    bad = subprocess.run(args[:-1] + [tiny_run.name], cwd=REPO, env=run_env(), capture_output=True, text=True,
                         timeout=900)
    assert bad.returncode != 0 and "not a CUT run" in bad.stderr + bad.stdout


def test_cyclegan_eval_scores_a_cut_run_in_its_one_direction(tmp_path):
    root = heldout_dataset(tmp_path / "data")
    ck = tmp_path / "ck"
    run_to_end([sys.executable, "-m", "cyclegan.train", "--dataroot", str(root), "--name", "e", "--checkpoints_dir",
                str(ck), *TINY, *CUT, "--direction", "BtoA", "--n_epochs", "1", "--n_epochs_decay", "0",
                "--save_epoch_freq", "1"])
    r = subprocess.run([sys.executable, "-m", "cyclegan.evaluate", "--name", "e", "--checkpoints_dir", str(ck),
                        "--dataroot", str(root), "--epoch", "all", "--c2st_steps", "8", "--image_size", "32"],
                       cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    results = json.loads((ck / "e" / "eval_results.json").read_text())["results"]
    assert [x["epoch"] for x in results] == ["1", "latest"]
    for x in results:  # BtoA: photos (B) -> paintings (A): the C2ST of A only
        assert isinstance(x["c2st_A"], float) and x["c2st_B"] is None and x["cycle_l1_B"] is None
