"""Quality curves during training: a tiny model trained with --eval_freq 1 writes eval_log.jsonl and the
quality plot on web/index.html (checked in headless Chromium); cyclegan-eval scores the saved epochs; the
visdom window gets the same curve; a missing held-out set is a clear error when asked for."""
import json
import re
import subprocess
import sys

import pytest

from _browser import CHROMIUM, SKIP_REASON, dump_dom, screenshot
from conftest import TINY, make_images, run_env

KEYS = ("c2st_A", "c2st_B", "color_A", "color_B", "cycle_l1_A", "cycle_l1_B")


def run(module, *args):
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                          env=run_env(), timeout=900)


@pytest.fixture
def eval_dataset(tmp_path):
    root = tmp_path / "data"
    for i, (sub, n) in enumerate((("trainA", 4), ("trainB", 4), ("testA", 10), ("testB", 10))):
        make_images(root / sub, n, size=(36, 36), seed=i, prefix=f"{sub}_")
    return root


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
def test_tiny_training_with_eval_freq_1_writes_the_curve_and_the_page_shows_it(eval_dataset, tmp_path):
    ck = tmp_path / "ck"
    r = run("cyclegan.train", "--dataroot", eval_dataset, "--name", "q", "--checkpoints_dir", ck, *TINY,
            "--gpu_ids", "-1", "--pool_size", "0", "--n_epochs", "2", "--n_epochs_decay", "0", "--eval_freq", "1",
            "--eval_c2st_steps", "8", "--save_epoch_freq", "1")
    assert r.returncode == 0, r.stderr[-3000:]
    records = [json.loads(line) for line in (ck / "q" / "eval_log.jsonl").read_text().splitlines()]
    assert [rec["epoch"] for rec in records] == [1, 2]
    for rec in records:
        assert all(isinstance(rec[k], float) for k in KEYS), rec
        assert 0 <= rec["c2st_A"] <= 1 and rec["n_A"] == rec["n_B"] == 10
    dom = dump_dom((ck / "q" / "web" / "index.html").resolve().as_uri())
    assert "Quality on held-out images" in dom
    svg = re.search(r'<svg[^>]*aria-label="q quality".*?</svg>', dom, re.S)
    assert svg, "no quality plot on the training page"
    assert svg.group(0).count("<polyline") >= 4 and "C2ST fake B vs real B" in svg.group(0)  # 2 points: lines
    shot = screenshot((ck / "q" / "web" / "index.html").resolve().as_uri(), tmp_path / "page.png")
    assert shot.size[0] > 0

    out = tmp_path / "eval.json"
    e = run("cyclegan.evaluate", "--name", "q", "--checkpoints_dir", ck, "--dataroot", eval_dataset,
            "--epoch", "all", "--c2st_steps", "8", "--json_out", out, "--device", "cpu")
    assert e.returncode == 0, e.stderr[-3000:]
    results = json.loads(out.read_text())["results"]
    assert [x["epoch"] for x in results] == ["1", "2", "latest"]
    assert "c2st_A" in e.stdout.splitlines()[-5] and all(isinstance(x["c2st_B"], float) for x in results)
    assert results[1]["cycle_l1_A"] == pytest.approx(records[1]["cycle_l1_A"], rel=1e-4)  # one evaluation
    # --c2st_repeats 2: the mean of the C2STs with seeds 0 (above) and 1
    by_seed = []
    for extra in (("--seed", "1"), ("--c2st_repeats", "2")):
        e = run("cyclegan.evaluate", "--name", "q", "--checkpoints_dir", ck, "--dataroot", eval_dataset, "--epoch",
                "latest", "--c2st_steps", "8", "--json_out", out, "--device", "cpu", *extra)
        assert e.returncode == 0, e.stderr[-3000:]
        by_seed.append(json.loads(out.read_text()))
    assert by_seed[1]["c2st_repeats"] == 2 and "c2st_B_each" not in by_seed[0]["results"][0]
    assert by_seed[1]["results"][0]["c2st_B_each"] == [results[2]["c2st_B"], by_seed[0]["results"][0]["c2st_B"]]
    assert by_seed[1]["results"][0]["c2st_B"] == pytest.approx((results[2]["c2st_B"]
                                                                + by_seed[0]["results"][0]["c2st_B"]) / 2)


@pytest.mark.slow
def test_explicit_eval_freq_without_a_heldout_set_is_a_clear_error(tmp_path):
    root = tmp_path / "data"
    for i, sub in enumerate(("trainA", "trainB")):
        make_images(root / sub, 2, size=(36, 36), seed=i)
    r = run("cyclegan.train", "--dataroot", root, "--name", "x", "--checkpoints_dir", tmp_path / "ck", *TINY,
            "--gpu_ids", "-1", "--n_epochs", "1", "--n_epochs_decay", "0", "--eval_freq", "1")
    assert r.returncode == 1 and "no held-out set" in r.stderr and "--eval_dir" in r.stderr
    e = run("cyclegan.evaluate", "--name", "nope", "--checkpoints_dir", tmp_path / "ck", "--dataroot", root)
    assert e.returncode == 2 and "no run folder" in e.stderr


def test_visdom_gets_the_quality_window(tmp_path):
    import argparse

    from cyclegan.display.visdom_sink import WIN_QUALITY, VisdomSink
    from cyclegan.display.visualizer import Visualizer
    opt = argparse.Namespace(name="v", checkpoints_dir=str(tmp_path), display_id=0, no_html=False, isTrain=True,
                             use_wandb=False, use_tensorboard=False)
    live = VisdomSink("http://localhost", 9, "v", "v", 4, 64, False, 60.0, lambda msg: None)  # nothing listens on 9
    vis = Visualizer(opt)
    vis.sinks.append(live)
    calls = []

    class Client:
        def line(self, **kw):
            calls.append(kw)

    vis.plot_quality([{"epoch": 1, "c2st_A": 0.9, "cycle_l1_A": 0.2}, {"epoch": 2, "c2st_A": 0.7, "cycle_l1_A": 0.1}])
    live._send_quality(Client())
    vis.close(timeout=1.0)
    assert calls[0]["win"] == WIN_QUALITY and calls[0]["Y"].shape == (2, 2)
    assert calls[0]["opts"]["legend"] == ["C2ST fake A vs real A", "cycle L1 A"]
    assert "v quality" in (tmp_path / "v" / "web" / "index.html").read_text()
