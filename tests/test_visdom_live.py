"""A real visdom server on a free localhost port: the display puts the image grid, the loss plot
and the status text into the run's environment, updates them in place, and the server listens
on 127.0.0.1 only. Also the end-to-end training runs with the display on (server / no server)."""
import argparse
import json
import re
import subprocess
import sys
import time
from collections import OrderedDict

import numpy as np
import pytest
import torch
from PIL import Image

from _visdom_server import REPO, VisdomServer, free_port, listening_addresses, repo_env
from cyclegan.display.visualizer import WIN_LOSSES, WIN_STATUS, WIN_VISUALS, Visualizer

pytestmark = pytest.mark.slow  # every test talks to a real visdom server process

NAMES = ["real_A", "fake_B", "rec_A", "idt_B", "real_B", "fake_A", "rec_B", "idt_A"]


def make_opt(tmp_path, port, name="live"):
    return argparse.Namespace(name=name, checkpoints_dir=str(tmp_path / "ck"), display_id=1,
                              display_server="http://localhost", display_port=port, display_env="",
                              display_ncols=4, display_winsize=64, no_html=False,
                              display_start_server=False, isTrain=True, use_wandb=False, use_tensorboard=False)


def windows(srv, env):
    return json.loads(srv.client(env).get_window_data(env=env))


def feed(vis, epoch, n):
    for it in range(n):
        vis.display_current_results(
            OrderedDict((k, torch.rand(1, 3, 32, 32) * 2 - 1) for k in NAMES), epoch, save_result=True)
        vis.plot_current_losses(epoch, it / n, {"G_A": 1.0 / (it + 1), "D_A": 0.5, "cycle_A": 2.0})
        vis.show_status(epoch, it, 2e-4, 0.05)


def test_env_holds_grid_plot_and_text_updated_in_place(tmp_path):
    with VisdomServer(tmp_path) as srv:
        vis = Visualizer(make_opt(tmp_path, srv.port))
        feed(vis, 1, 3)
        assert vis.sender.flush(20)
        first = windows(srv, "live")
        feed(vis, 2, 4)
        vis.close(timeout=20)
        wins = windows(srv, "live")
        assert set(first) == set(wins) == {WIN_VISUALS, WIN_LOSSES, WIN_STATUS}  # no new windows
        assert wins[WIN_VISUALS]["type"] == "image"
        assert "epoch 2" in wins[WIN_VISUALS]["title"]
        assert wins[WIN_VISUALS]["content"]["src"].startswith("data:image/")
        plot = wins[WIN_LOSSES]
        assert plot["type"] == "plot"
        assert [d["name"] for d in plot["content"]["data"]] == ["G_A", "D_A", "cycle_A"]
        xs = plot["content"]["data"][0]["x"]
        assert len(xs) == 7 and xs[0] == 1.0 and xs[-1] == pytest.approx(2.75)
        status = wins[WIN_STATUS]
        assert status["type"] == "text"
        text = status["content"]
        for word in ("epoch", "iteration", "learning rate", "time per iteration", "0.0002"):
            assert word in text
        assert ">3<" in text  # the last iteration index, shown in place of the first round's
        assert vis.sender.warnings == 0
        assert f"http://localhost:{srv.port}" in srv.log.read_text()  # the helper prints the URL
        addrs = listening_addresses(srv.port)
        if addrs is not None:  # Linux: check the listening socket is loopback only
            assert addrs and all(a in ("0100007F", "0000000000000000FFFF00000100007F") for a in addrs), addrs


def test_other_hosts_only_with_explicit_host(tmp_path):
    with VisdomServer(tmp_path, extra=["--host", "0.0.0.0"]) as srv:
        addrs = listening_addresses(srv.port)
        if addrs is None:
            pytest.skip("/proc/net/tcp is not available to read the listening address")
        assert addrs == ["00000000"], addrs
        assert "anyone who can reach this port" in srv.log.read_text()


def test_server_starts_only_when_asked(tmp_path):
    port = free_port()
    messages = []
    opt = make_opt(tmp_path, port, name="started")
    vis = Visualizer(opt, warn=messages.append)  # display_start_server is False: nothing starts
    vis.show_status(1, 1, 1e-3, 0.1)
    vis.close(timeout=5)
    assert vis.of_type("VisdomSink")._server_proc is None and sum("cannot reach" in m for m in messages) == 1

    opt.display_start_server = True
    messages.clear()
    vis = Visualizer(opt, warn=messages.append)
    try:
        feed(vis, 1, 2)
        assert vis.sender.flush(20)
        assert vis.sender.warnings == 0 and vis.sender.done > 0, messages
        assert any(f"http://localhost:{port}" in m for m in messages)
    finally:
        vis.close(timeout=10)
    assert vis.of_type("VisdomSink")._server_proc.poll() is not None  # the server it started is gone again


# -- end to end with the training entry point -------------------------------------------------
def tiny_dataset(root, n=4, size=40):
    rng = np.random.default_rng(0)
    for sub in ("trainA", "trainB", "testA", "testB"):
        d = root / sub
        d.mkdir(parents=True)
        for i in range(n):
            arr = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(arr).save(d / f"img {i}.jpg")
    return root


def train_cmd(tmp_path, port, name, display_id=1, extra=()):
    return [sys.executable, "-m", "cyclegan.train", "--dataroot", str(tiny_dataset(tmp_path / "data")),
            "--name", name, "--checkpoints_dir", str(tmp_path / "ck"), "--load_size", "36",
            "--crop_size", "32", "--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks",
            "--n_epochs", "1", "--n_epochs_decay", "0", "--display_id", str(display_id),
            "--display_port", str(port), "--display_freq", "1", "--print_freq", "1",
            "--max_dataset_size", "4", *extra]


def test_training_run_fills_the_visdom_env(tmp_path):
    with VisdomServer(tmp_path) as srv:
        r = subprocess.run(train_cmd(tmp_path, srv.port, "e2e"), cwd=REPO, env=repo_env(),
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        assert "cannot reach the visdom server" not in r.stderr
        # not a terminal: plain progress lines with ETA and the latest losses
        assert re.search(r"epoch 1/1: 4/4 100\.0% img .*eta .*G_A=", r.stderr), r.stderr[-2000:]
        wins = windows(srv, "e2e")
        assert {WIN_VISUALS, WIN_LOSSES, WIN_STATUS} <= set(wins), list(wins)
        assert wins[WIN_LOSSES]["type"] == "plot" and wins[WIN_VISUALS]["type"] == "image"
    page = (tmp_path / "ck" / "e2e" / "web" / "index.html").read_text()
    assert "epoch [1]" in page and "images/epoch001_fake_B.png" in page  # first display of epoch 1
    assert "dataroot" in page and "<polyline" in page  # options table and loss curves
    assert (tmp_path / "ck" / "e2e" / "web" / "images" / "epoch001_rec_A.png").is_file()


def test_training_without_server_finishes_and_warns_once(tmp_path):
    port = free_port()  # nothing listens there
    r = subprocess.run(train_cmd(tmp_path, port, "noserver"), cwd=REPO, env=repo_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stderr.count("cannot reach the visdom server") == 1, r.stderr[-3000:]
    assert f"cyclegan-visdom --port {port}" in r.stderr
    assert (tmp_path / "ck" / "noserver" / "web" / "index.html").is_file()


def step_times(model, batches, vis, iters, display, epoch=1):
    """Wall seconds per iteration over `iters` steps, the training thread's CPU seconds for all of
    them and its CPU seconds inside display calls. With `display` every step feeds the display
    (display_freq = print_freq = 1, the heaviest setting)."""
    times, cpu_vis, cpu0 = [], 0.0, time.thread_time()
    for i in range(iters):
        t0 = time.perf_counter()
        model.set_input(batches[i % len(batches)])
        model.optimize_parameters()
        losses = model.get_current_losses()  # the loop prints these whether or not it displays
        if display:
            c1 = time.thread_time()
            vis.display_current_results(model.get_current_visuals(), epoch, save_result=False)
            vis.plot_current_losses(epoch, i / iters, losses)
            vis.show_status(epoch, i, 2e-4, times[-1] if times else 0.0)
            cpu_vis += time.thread_time() - c1
        times.append(time.perf_counter() - t0)
    return times, time.thread_time() - cpu0, cpu_vis


def test_display_overhead_is_small_in_one_run(tmp_path):
    """Display on vs off on the same model and data in one process, in interleaved blocks.

    The assertion uses CPU time, which a busy shared machine does not stretch the way it stretches
    wall time: the training thread's CPU inside display calls against its CPU in the display-on
    iterations, plus the background sender's CPU (an upper bound on the time it can hold the GIL)
    against the training CPU of the whole measurement, since the sender's work is paced per
    second, not per iteration. The wall-clock on/off ratio is printed for the record."""

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: steadier timings on a busy shared machine
    try:
        measure_overhead(tmp_path)
    finally:
        torch.set_num_threads(threads)


def measure_overhead(tmp_path, blocks=4, per_block=8):
    from options.train_options import TrainOptions

    from cyclegan.data import create_dataloader, create_dataset
    from cyclegan.models import create_model

    with VisdomServer(tmp_path) as srv:
        argv = train_cmd(tmp_path, srv.port, "overhead")[3:]
        opt = TrainOptions().parse(argv)
        dataset = create_dataset(opt)
        loader = create_dataloader(dataset, 1, shuffle=False, num_workers=0, seed=0)
        batches = [b for _, b in zip(range(4), loader)]
        model = create_model(opt)
        model.setup(opt)
        vis = Visualizer(opt)
        step_times(model, batches, vis, 3, display=True)  # warm-up (allocations, first connect)
        assert vis.sender.flush(20)
        sender0, on, off, cpu_on, cpu_all, cpu_vis = vis.sender.cpu_time, [], [], 0.0, 0.0, 0.0
        for block in range(blocks):  # alternate the order so drift on a shared machine cancels out
            for display in ((True, False) if block % 2 else (False, True)):
                t, cpu, cv = step_times(model, batches, vis, per_block, display)
                (on if display else off).extend(t)
                cpu_all += cpu
                if display:
                    cpu_on += cpu
                    cpu_vis += cv
        sender_cpu = vis.sender.cpu_time - sender0  # before close(): its final flush is not per-step
        vis.close(timeout=20)
        assert vis.sender.warnings == 0 and vis.sender.done > 0
    t_on, t_off = float(np.median(on)), float(np.median(off))
    hot, background = cpu_vis / cpu_on, sender_cpu / cpu_all
    print(f"\ndisplay on {t_on * 1e3:.1f} ms/it, off {t_off * 1e3:.1f} ms/it (wall medians), ratio "
          f"{t_on / t_off:.3f}; CPU in display calls {hot:.2%} + sender CPU {background:.2%} of the "
          f"training CPU (display_freq = print_freq = 1, {len(on)}+{len(off)} iterations)")
    assert hot + background < 0.05, f"the display costs {hot + background:.1%} of the iteration time"
    return t_on / t_off, hot, background
