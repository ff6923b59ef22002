"""Display pieces without a browser: progress output, HTML escaping, loss SVG, image grid,
the background worker, the offline-server behaviour, and the visdom asset list."""
import argparse
import io
import re
import socket
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan.display import visual_grid as img_utils
from cyclegan.display.html import write_page
from cyclegan.display.plot import loss_svg
from cyclegan.display.progress import Progress, progress_iter
from cyclegan.display.visualizer import Visualizer
from cyclegan.display.worker import LatestJobWorker
from cyclegan.images import to_uint8

NAMES = ["real_A", "fake_B", "rec_A", "idt_B", "real_B", "fake_A", "rec_B", "idt_A"]
EVIL = "<img src=x onerror=alert(1)>.jpg"


def make_opt(tmp_path, **kw):
    base = dict(name="exp", checkpoints_dir=str(tmp_path / "ck"), display_id=1,
                display_server="http://localhost", display_port=1, display_env="", display_ncols=4,
                display_winsize=64, no_html=False, display_start_server=False, isTrain=True, use_wandb=False,
                use_tensorboard=False)
    base.update(kw)
    return argparse.Namespace(**base)


def visuals(size=32):
    return OrderedDict((n, torch.rand(2, 3, size, size) * 2 - 1) for n in NAMES)


def unused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


# -- progress ----------------------------------------------------------------------------------
def test_progress_plain_lines_have_eta_and_losses():
    out = io.StringIO()  # not a terminal -> plain lines
    bar = Progress(40, desc="epoch 1", stream=out, every=10)
    for i in range(40):
        bar.update(1, G_A=0.5 + i, D_A=0.25)
    bar.close()
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 4  # every 10 items, no duplicate line at close
    assert lines[-1].startswith("epoch 1: 40/40 100.0%")
    assert "eta" in lines[0] and "G_A=0.500" not in lines[-1] and "G_A=39.500" in lines[-1]
    assert "D_A=0.250" in lines[-1]


def test_progress_bar_mode_uses_tqdm_with_losses():
    out = io.StringIO()
    bar = Progress(5, desc="test", stream=out, force_plain=False)
    for _ in range(5):
        bar.update(1, L1=1.25)
    bar.close()
    text = out.getvalue()
    assert "5/5" in text and "L1=1.250" in text and "\r" in text  # tqdm redraws in place


def test_progress_iter_yields_everything_and_reports_at_end():
    out = io.StringIO()
    assert list(progress_iter(range(7), desc="x", stream=out, every=100)) == list(range(7))
    assert "7/7" in out.getvalue()


# -- HTML, SVG, images -------------------------------------------------------------------------
def test_page_escapes_file_names_captions_and_table_values(tmp_path):
    img = tmp_path / "web" / "images" / EVIL
    img.parent.mkdir(parents=True)
    Image.new("RGB", (8, 8), "red").save(img, format="PNG")
    page = write_page(tmp_path / "web" / "index.html", "t<script>", sections=[("s", [(img, EVIL)])],
                      tables=[("opts", [("dataroot", "<script>alert(2)</script>")])])
    text = page.read_text()
    assert "<img src=x" not in text and "<script>alert" not in text and "t<script>" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in text
    src = re.search(r'<img[^>]*src="([^"]+)"', text).group(1)
    assert src == "images/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.jpg"


def test_loss_svg_has_one_line_per_loss_and_escapes_names():
    xs = [0.1 * i for i in range(10)]
    svg = loss_svg(xs, {"G_A": [1.0 / (i + 1) for i in range(10)], "<b>D</b>": [0.5] * 10})
    assert svg.count("<polyline") == 2
    assert "<b>" not in svg and "&lt;b&gt;D&lt;/b&gt;" in svg
    assert "no losses" in loss_svg([], {})


def test_to_uint8_maps_range_and_grid_holds_every_label():
    t = torch.tensor([[[-1.0, 1.0]], [[0.0, 0.0]], [[-1.0, -1.0]]])  # 3x1x2
    arr = to_uint8(t, signed=True)
    assert arr.shape == (1, 2, 3) and arr[0, 0, 0] == 0 and arr[0, 1, 0] == 255 and arr[0, 0, 1] == 128
    imgs = {n: np.full((16, 16, 3), 10 * i, np.uint8) for i, n in enumerate(NAMES)}
    grid = img_utils.labelled_grid(imgs, ncols=4, cell=64)
    # 4 columns x 2 rows of 64 px cells (scaled x4), each with a label strip under it
    assert grid.size[0] == 4 * (64 + 4) + 4 and grid.size[1] == 2 * (64 + 16 + 4) + 4
    label_strip = np.asarray(grid)[4 + 64:4 + 64 + 16, 4:4 + 64]
    assert (label_strip < 128).any()  # text drawn under the first cell


def test_snapshot_copies_first_image_to_cpu():
    src = torch.zeros(2, 3, 4, 4)
    snap = img_utils.snapshot({"a": src})
    src.fill_(1.0)  # the training loop may reuse its buffers
    assert snap["a"].shape == (3, 4, 4) and float(snap["a"].abs().sum()) == 0.0


# -- background worker -------------------------------------------------------------------------
def test_worker_keeps_only_latest_job_per_key():
    gate = threading.Event()
    ran = []
    w = LatestJobWorker("t")
    w.submit("block", gate.wait)
    time.sleep(0.05)
    for i in range(100):
        w.submit("plot", lambda i=i: ran.append(i))
    gate.set()
    assert w.stop(timeout=5)
    assert ran == [99] and w.dropped == 99


# -- HTML training page via the Visualizer ----------------------------------------------------
def test_training_page_newest_epoch_first_with_losses_and_options(tmp_path):
    opt = make_opt(tmp_path, display_id=0, dataroot="<script>alert(3)</script>")
    vis = Visualizer(opt)
    assert vis.sender is None  # display off: no visdom at all
    for epoch in (1, 2, 3):
        vis.plot_current_losses(epoch, 0.5, {"G_A": 1.0 / epoch, "D_A": 0.3})
        vis.display_current_results(visuals(), epoch, save_result=True)
    vis.close()
    web = Path(opt.checkpoints_dir) / "exp" / "web"
    text = (web / "index.html").read_text()
    assert text.index("epoch [3]") < text.index("epoch [2]") < text.index("epoch [1]")
    assert text.count("<polyline") == 2 and "G_A" in text
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in text and "<script>alert" not in text
    for name in NAMES:
        assert (web / "images" / f"epoch003_{name}.png").is_file()
        assert f"images/epoch003_{name}.png" in text


def test_first_display_of_each_epoch_is_saved_without_save_result(tmp_path):
    opt = make_opt(tmp_path, display_id=0)
    vis = Visualizer(opt)
    for epoch in (1, 1, 2):
        vis.display_current_results(visuals(), epoch, save_result=False)
    vis.close()
    text = (Path(opt.checkpoints_dir) / "exp" / "web" / "index.html").read_text()
    assert "epoch [2]" in text and "epoch [1]" in text and text.index("epoch [2]") < text.index("epoch [1]")


def test_no_html_writes_no_page(tmp_path):
    opt = make_opt(tmp_path, display_id=0, no_html=True)
    vis = Visualizer(opt)
    vis.display_current_results(visuals(), 1, save_result=True)
    vis.close()
    assert not (Path(opt.checkpoints_dir) / "exp" / "web" / "index.html").exists()


# -- no server / stalled server ---------------------------------------------------------------
def run_fake_loop(vis, iters, work=None):
    worst = 0.0
    for it in range(iters):
        if work:
            work()
        t0 = time.perf_counter()
        vis.display_current_results(visuals(), 1, save_result=(it % 5 == 0))
        vis.plot_current_losses(1, it / iters, {"G_A": 1.0, "D_A": 0.5})
        vis.show_status(1, it, 2e-4, 0.01)
        worst = max(worst, time.perf_counter() - t0)
    return worst


def test_no_server_warns_once_and_never_blocks(tmp_path):
    messages = []
    opt = make_opt(tmp_path, display_port=unused_port())
    vis = Visualizer(opt, retry_interval=60.0, warn=messages.append)
    worst = run_fake_loop(vis, 30, work=lambda: time.sleep(0.01))
    t0 = time.perf_counter()
    vis.close(timeout=2.0)
    assert time.perf_counter() - t0 < 3.0
    warned = [m for m in messages if "cannot reach the visdom server" in m]
    assert len(warned) == 1, messages
    assert "cyclegan-visdom --port" in warned[0] and "start_visdom.sh" in warned[0]
    assert vis.sender.attempts == 1  # no second try within the 60 s retry interval
    assert worst < 0.1, f"a display call took {worst:.3f}s"
    assert (Path(opt.checkpoints_dir) / "exp" / "web" / "index.html").is_file()  # page still written


def test_no_server_retries_after_interval(tmp_path):
    messages = []
    vis = Visualizer(make_opt(tmp_path, display_port=unused_port()), retry_interval=0.2,
                     warn=messages.append)
    deadline = time.monotonic() + 5
    while vis.sender.attempts < 3 and time.monotonic() < deadline:
        vis.show_status(1, 1, 1e-3, 0.1)
        time.sleep(0.05)
    vis.close(timeout=1.0)
    assert vis.sender.attempts >= 3
    assert sum("cannot reach" in m for m in messages) == 1


def test_stalled_server_does_not_block_the_caller(tmp_path):
    # A socket that accepts connections but never answers: requests would hang without timeouts.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(50)
    port = srv.getsockname()[1]
    try:
        messages = []
        vis = Visualizer(make_opt(tmp_path, display_port=port, no_html=True), warn=messages.append)
        vis.sender.timeout = (0.5, 0.5)
        worst = run_fake_loop(vis, 20)
        t0 = time.perf_counter()
        vis.close(timeout=1.0)
        assert time.perf_counter() - t0 < 3.0
        assert worst < 0.1, f"a display call took {worst:.3f}s"
    finally:
        srv.close()


# -- visdom server helper ---------------------------------------------------------------------
def test_asset_list_covers_everything_visdom_downloads():
    import visdom

    from cyclegan.cli.visdom_server import ASSETS

    build = (Path(visdom.__file__).parent / "server" / "build.py").read_text()
    names = re.findall(r':\s*"([^"]+)",', build)  # values of ext_files: the saved file names
    assert len(names) >= 20
    targets = {dst.rsplit("/", 1)[-1] for _, _, dst in ASSETS}
    assert set(names) <= targets, set(names) - targets
    for path in re.findall(r'"((?:config|extensions|jax)/[^"?]+)\?', build):
        assert any(dst.endswith(path) or path.startswith(dst.split("2.7.5/")[-1])
                   for _, _, dst in ASSETS if "mathjax" in dst), path


def test_server_refuses_without_assets_and_binds_localhost_by_default(tmp_path, monkeypatch, capsys):
    from cyclegan.cli import visdom_server

    assert visdom_server.build_parser().parse_args([]).host == "127.0.0.1"
    monkeypatch.setattr(visdom_server, "visdom_static_dir", lambda: tmp_path)
    assert "version.built" in visdom_server.missing_assets()
    assert visdom_server.main(["--port", "9"]) == 1  # a user error: one line, exit 1
    assert "stage_visdom_assets.sh" in capsys.readouterr().err


def test_no_shell_or_eval_in_display_code():
    root = Path(__file__).resolve().parents[1]
    files = list((root / "cyclegan" / "display").glob("*.py")) + [root / "cyclegan" / "cli" / "visdom_server.py"]
    for f in files:
        text = f.read_text()
        assert "shell=True" not in text and not re.search(r"(?<!\.)\beval\(", text), f  # builtin eval, not net.eval()


@pytest.mark.slow
def test_staging_script_is_idempotent_once_staged():
    import subprocess

    from cyclegan.cli.visdom_server import missing_assets

    if missing_assets():
        pytest.skip("visdom assets not staged here: run `bash scripts/stage_visdom_assets.sh` (CI does)")
    root = Path(__file__).resolve().parents[1]
    from conftest import run_env  # $PYTHON: the interpreter running the tests, venv activated or not

    r = subprocess.run(["bash", str(root / "scripts" / "stage_visdom_assets.sh")], cwd=root, env=run_env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "already staged" in r.stdout, r.stdout + r.stderr
