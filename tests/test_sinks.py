"""The display fan-out and the loop's reporting cadence, in the test process: every sink gets the same stream, a
missing optional package (wandb, tensorboard) is one clear error at start, the first iteration and each epoch's
end show visuals and losses (so a run shorter than --print_freq has a curve), and the TensorBoard sink's event
file reads back with its losses and images. The trained end to end runs are in test_sinks_e2e.py."""
import argparse
import sys
import threading
from collections import OrderedDict

import pytest
import torch

from cyclegan.display.sink import Sink
from cyclegan.display.visualizer import Visualizer
from cyclegan.errors import UserError
from cyclegan.training.report import Report

NAMES = ["real_A", "fake_B"]


def make_opt(tmp_path, **kw):
    base = dict(name="s", checkpoints_dir=str(tmp_path / "ck"), display_id=0, display_ncols=4, display_winsize=64,
                no_html=True, isTrain=True, use_wandb=False, wandb_project_name="CycleGAN-and-pix2pix",
                use_tensorboard=False, tensorboard_dir=str(tmp_path / "tb"))
    base.update(kw)
    return argparse.Namespace(**base)


class Recorder(Sink):
    def __init__(self):
        self.calls = []

    def images(self, snap, epoch, step, save):
        self.calls.append(("images", epoch, step, save, snap))

    def losses(self, epoch, x, step, losses):
        self.calls.append(("losses", epoch, step, x, dict(losses)))

    def status(self, epoch, iters, step, lr, t_iter):
        self.calls.append(("status", epoch, step, lr))

    def quality(self, records):
        self.calls.append(("quality", len(records)))

    def close(self, timeout):
        self.calls.append(("close",))


def test_every_sink_gets_the_same_stream_and_one_shared_snapshot(tmp_path):
    a, b = Recorder(), Recorder()
    vis = Visualizer(make_opt(tmp_path), sinks=[a, b])
    vis.display_current_results(OrderedDict((k, torch.rand(2, 3, 8, 8)) for k in NAMES), 1, save_result=True, step=5)
    vis.plot_current_losses(1, 0.25, {"G_A": 1.5}, step=5)
    vis.show_status(1, 5, 2e-4, 0.1, step=5)
    vis.plot_quality([{"epoch": 1, "total_iters": 5, "c2st_A": 0.6}])
    vis.close()
    vis.display_current_results({"real_A": torch.rand(1, 3, 8, 8)}, 2)  # after close: ignored
    kinds = [c[0] for c in a.calls]
    assert kinds == ["images", "losses", "status", "quality", "close"] and [c[0] for c in b.calls] == kinds
    assert a.calls[0][4] is b.calls[0][4]  # one CPU copy for every sink
    assert a.calls[0][4]["real_A"].shape == (3, 8, 8) and a.calls[0][1:4] == (1, 5, True)
    assert a.calls[1][1:4] == (1, 5, 1.25) and a.calls[1][4] == {"G_A": 1.5}


def page_threads():
    return [t for t in threading.enumerate() if t.name == "html-writer" and t.is_alive()]


@pytest.mark.parametrize("flag,module", [("use_wandb", "wandb"), ("use_tensorboard", "torch.utils.tensorboard")])
def test_a_missing_package_is_one_clear_error_at_start(tmp_path, monkeypatch, flag, module):
    monkeypatch.setitem(sys.modules, module, None)  # `import` of it now raises ImportError
    before = len(page_threads())
    with pytest.raises(UserError) as e:
        Visualizer(make_opt(tmp_path, no_html=False, **{flag: True}))
    message = str(e.value)
    assert f"--{flag} needs the" in message and "pip install" in message and "\n" not in message
    assert len(page_threads()) == before  # no display thread was left running


class FakeModel:
    def __init__(self):
        self.step = 0

    def get_current_visuals(self):
        return {"real_A": torch.zeros(1, 3, 4, 4)}

    def get_current_losses(self):
        return {"G_A": 1.0 / self.step}

    def current_lr(self):
        return 2e-4


class FakeLog:
    def __init__(self):
        self.lines = []

    def write(self, epoch, iters, losses, t_comp, t_data):
        self.lines.append((epoch, iters))
        return f"(epoch: {epoch}, iters: {iters})"


class Quiet:
    def __getattr__(self, name):
        return lambda *a, **k: None


def run_report(opt, dataset_size, epochs, batch=1):
    """Drive Report as the loop does; returns (loss_log lines, display steps and save flags, loss points)."""
    model, log, rec = FakeModel(), FakeLog(), Recorder()
    vis = Visualizer(opt, sinks=[rec])
    report = Report(opt, model, vis, log, Quiet(), dataset_size)
    total = 0
    for epoch in range(1, epochs + 1):
        report.start_epoch(Quiet())
        epoch_iter = 0
        for _ in range(dataset_size // batch):
            model.step += 1
            total += batch
            epoch_iter += batch
            report.step(epoch, epoch_iter, total, batch, 0.0)
        report.end_epoch(epoch, epoch_iter, total)
    shown = [(c[2], c[3]) for c in rec.calls if c[0] == "images"]
    points = [c[2] for c in rec.calls if c[0] == "losses"]
    return log.lines, shown, points


def test_a_run_shorter_than_print_freq_shows_pictures_at_once_and_a_curve(tmp_path):
    opt = make_opt(tmp_path, print_freq=100, display_freq=400, update_html_freq=1000)
    lines, shown, points = run_report(opt, dataset_size=30, epochs=1)
    assert lines == [(1, 1), (1, 30)]  # the first step and the epoch's end: two points, official format
    assert shown == [(1, True), (30, True)] and points == [1, 30]


def test_the_official_points_stay_and_each_epoch_end_is_added_once(tmp_path):
    opt = make_opt(tmp_path, print_freq=4, display_freq=6, update_html_freq=12)
    lines, shown, points = run_report(opt, dataset_size=10, epochs=2)
    assert lines == [(1, 1), (1, 4), (1, 8), (1, 10), (2, 2), (2, 6), (2, 10)]  # 10, 20: the epochs' ends
    assert points == [1, 4, 8, 10, 12, 16, 20]
    assert shown == [(1, True), (6, False), (10, True), (12, True), (18, False), (20, True)]
    # batches of 4 images over 8 per epoch: print_freq 4 falls on every step, nothing is repeated
    lines, shown, points = run_report(make_opt(tmp_path, print_freq=4, display_freq=400, update_html_freq=1000),
                                      dataset_size=8, epochs=1, batch=4)
    assert lines == [(1, 4), (1, 8)] and shown == [(4, True), (8, True)]


def test_tensorboard_sink_writes_losses_rates_quality_and_images_that_read_back(tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard not installed: pip install .[tensorboard] (the test "
                                              "extra has it)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    opt = make_opt(tmp_path, use_tensorboard=True)
    vis = Visualizer(opt)
    for step in (1, 2, 3):
        vis.plot_current_losses(1, step / 3, {"G_A": 1.0 / step, "D_A": 0.5}, step=step)
        vis.show_status(1, step, 2e-4, 0.05, step=step)
    vis.display_current_results({"fake_B": torch.zeros(1, 3, 8, 8)}, 1, step=3)
    vis.plot_quality([{"epoch": 1, "total_iters": 3, "c2st_A": 0.75, "time": 1.0}])
    vis.close(timeout=20)
    acc = EventAccumulator(str(tmp_path / "tb"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    assert [(e.step, round(e.value, 3)) for e in acc.Scalars("loss/G_A")] == [(1, 1.0), (2, 0.5), (3, 0.333)]
    assert [e.step for e in acc.Scalars("lr")] == [1, 2, 3]
    assert acc.Scalars("time_per_iter")[0].value == pytest.approx(0.05)
    assert [(e.step, e.value) for e in acc.Scalars("quality/c2st_A")] == [(3, 0.75)]
    assert "quality/time" not in acc.Tags()["scalars"]
    (image,) = acc.Images("visuals/fake_B")
    assert (image.step, image.width, image.height) == (3, 8, 8)


def test_no_copy_leaves_the_device_when_no_sink_wants_the_display(tmp_path, monkeypatch):
    from cyclegan.display import visual_grid as img_utils

    copies = []
    real = img_utils.snapshot
    monkeypatch.setattr(img_utils, "snapshot", lambda visuals: copies.append(1) or real(visuals))
    vis = Visualizer(make_opt(tmp_path, no_html=False))  # the page only: one display per epoch unless saved
    for epoch, save in ((1, False), (1, False), (1, True), (2, False), (2, False)):
        vis.display_current_results({"real_A": torch.zeros(1, 3, 4, 4)}, epoch, save_result=save)
    vis.close()
    assert len(copies) == 3  # epoch 1's first, the saved one, epoch 2's first


def test_wandb_sink_logs_losses_rates_quality_images_and_the_options_offline(tmp_path, monkeypatch):
    pytest.importorskip("wandb", reason="wandb not installed: pip install .[wandb] (the test extra has it)")
    from _wandb_reader import read_run

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    opt = make_opt(tmp_path, use_wandb=True, wandb_project_name="proj")
    vis = Visualizer(opt)
    for step in (1, 2):
        vis.plot_current_losses(1, step / 2, {"G_A": 1.0 / step}, step=step)
        vis.show_status(1, step, 2e-4, 0.05, step=step)
    vis.display_current_results({"fake_B": torch.zeros(1, 3, 8, 8)}, 1, step=2)
    vis.plot_quality([{"epoch": 1, "total_iters": 2, "c2st_A": 0.75, "time": 1.0}])
    vis.close(timeout=30)
    (folder,) = (tmp_path / "ck" / "s" / "wandb").glob("offline-run-*")
    run = read_run(folder)
    assert run["project"] == "proj" and run["name"] == "s" and run["finished"]
    assert run["config"]["wandb_project_name"] == "proj" and run["config"]["use_wandb"] is True
    rows = run["history"]
    assert [(r["iters"], r["G_A"], r["epoch"]) for r in rows if "G_A" in r] == [(1, 1.0, 1.5), (2, 0.5, 2.0)]
    assert [(r["iters"], r["lr"]) for r in rows if "lr" in r] == [(1, 2e-4), (2, 2e-4)]
    assert [(r["iters"], r["quality/c2st_A"]) for r in rows if "quality/c2st_A" in r] == [(2, 0.75)]
    (image,) = [r for r in rows if "fake_B/path" in r]
    assert image["iters"] == 2 and (run["files"] / image["fake_B/path"]).is_file() and "Result/_type" in image


def test_a_resumed_tensorboard_log_drops_what_came_after_its_checkpoint(tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard not installed: pip install .[tensorboard] (the test "
                                              "extra has it)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    opt = make_opt(tmp_path, use_tensorboard=True)
    first = Visualizer(opt)
    first.begin(0)
    for step in (1, 2, 3, 4):  # interrupted after step 4; its last checkpoint was at step 2
        first.plot_current_losses(1, step / 4, {"G_A": float(step)}, step=step)
    first.plot_quality([{"epoch": 1, "total_iters": 2, "c2st_A": 0.9}])
    first.close(timeout=20)
    resumed = Visualizer(opt)
    resumed.begin(2)
    resumed.plot_quality([{"epoch": 1, "total_iters": 2, "c2st_A": 0.9}])  # the earlier point: not written again
    resumed.plot_current_losses(1, 0.75, {"G_A": 30.0}, step=3)
    resumed.close(timeout=20)
    acc = EventAccumulator(str(tmp_path / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("loss/G_A")] == [(1, 1.0), (2, 2.0), (3, 30.0)]
    assert [(e.step, e.value) for e in acc.Scalars("quality/c2st_A")] == [(2, pytest.approx(0.9))]
