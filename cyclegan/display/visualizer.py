"""The training display: visdom windows (image grid, loss plot, status text) and web/index.html.

Only cheap work happens in the caller's thread (a CPU copy of one small image per visual and a
list append per loss); image encoding, network I/O and HTML writing run in background workers
that keep just the newest item when they fall behind, so the display never slows training.
"""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from cyclegan.display import images as img_utils
from cyclegan.display.html import escape, write_page
from cyclegan.display.plot import loss_svg, quality_series
from cyclegan.display.worker import LatestJobWorker
from cyclegan.images import save_image, to_uint8
from cyclegan.io import atomic_write_text

WIN_VISUALS, WIN_LOSSES, WIN_STATUS = "cyclegan_visuals", "cyclegan_losses", "cyclegan_status"
WIN_QUALITY = "cyclegan_quality"


def _opt(opt, name, default):
    value = getattr(opt, name, default)
    return default if value is None else value


class Visualizer:
    """Send training visuals to visdom and keep the HTML page at checkpoints/NAME/web/index.html."""

    def __init__(self, opt, retry_interval=60.0, warn=None):
        self.opt = opt
        self.name = str(opt.name)
        self.display_id = int(_opt(opt, "display_id", 1))
        self.ncols = int(_opt(opt, "display_ncols", 4))
        self.winsize = int(_opt(opt, "display_winsize", 256))
        self.server = str(_opt(opt, "display_server", "http://localhost"))
        self.port = int(_opt(opt, "display_port", 8097))
        self.env = _opt(opt, "display_env", "") or self.name
        self.use_html = bool(_opt(opt, "isTrain", True)) and not bool(_opt(opt, "no_html", False))
        self.web_dir = Path(opt.checkpoints_dir) / self.name / "web"
        self.img_dir = self.web_dir / "images"
        self._warn = warn or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._lock = threading.Lock()
        self._loss_x, self._loss_names, self._loss_y = [], [], {}
        self._saved_epochs = {}  # epoch -> [visual names], filled by the HTML worker
        self._quality = []  # eval_log.jsonl records (training/quality.py)
        self._epochs_seen = set()  # epochs whose images were queued for the page
        self._html_warned = False
        self._server_proc = None
        self.sender = None
        self.html_worker = None
        self._closed = False
        if self.display_id > 0:
            if bool(_opt(opt, "display_start_server", False)):
                self._start_local_server()
            from cyclegan.display.visdom_sender import VisdomSender
            self.sender = VisdomSender(self.server, self.port, self.env,
                                       retry_interval=retry_interval, warn=self._warn)
            self.sender.submit("__connect__", lambda: None)  # connect (or warn) right away
        if self.use_html:
            self.img_dir.mkdir(parents=True, exist_ok=True)
            self.html_worker = LatestJobWorker("html-writer", on_error=self._html_failed,
                                               min_interval=1.0)

    # -- the interface the training loop calls ---------------------------------------------
    def display_current_results(self, visuals, epoch, save_result=False):
        """Show the first image of each visual; with save_result also save PNGs and the page."""
        # as officially, the first display of each epoch is saved even between update_html_freq
        save = self.use_html and (save_result or int(epoch) not in self._epochs_seen)
        if self._closed or (self.sender is None and not save):
            return
        snap = img_utils.snapshot(visuals)
        if self.sender is not None:
            self.sender.send(WIN_VISUALS, lambda vis: self._send_grid(vis, snap, epoch))
        if save:
            self._epochs_seen.add(int(epoch))
            self.html_worker.submit(("images", int(epoch)), lambda: self._save_images(snap, int(epoch)))
            self.html_worker.submit("page", self._write_page)

    def plot_current_losses(self, epoch, counter_ratio, losses):
        """Add one point per loss at x = epoch + counter_ratio and redraw the loss plot."""
        if self._closed:
            return
        with self._lock:
            if not self._loss_names:
                self._loss_names = [str(k) for k in losses]
                self._loss_y = {k: [] for k in self._loss_names}
            self._loss_x.append(float(epoch) + float(counter_ratio))
            for k in self._loss_names:
                v = losses.get(k, None)
                if v is None:  # a loss that is missing this time repeats its last value
                    v = self._loss_y[k][-1] if self._loss_y[k] else float("nan")
                self._loss_y[k].append(float(v))
        if self.sender is not None:
            self.sender.send(WIN_LOSSES, self._send_losses)

    def plot_quality(self, records):
        """The held-out quality curves (eval_log.jsonl records): a visdom window and a plot on the page."""
        if self._closed or not records:
            return
        with self._lock:
            self._quality = list(records)
        if self.sender is not None:
            self.sender.send(WIN_QUALITY, self._send_quality)
        if self.use_html:
            self.html_worker.submit("page", self._write_page)

    def show_status(self, epoch, iters, lr, t_iter):
        """The text window: epoch, iteration, learning rate and seconds per iteration."""
        if self.sender is None or self._closed:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        rows = [("experiment", self.name), ("epoch", epoch), ("iteration", iters),
                ("learning rate", f"{float(lr):.3g}"), ("time per iteration", f"{float(t_iter):.4f} s"),
                ("updated", stamp)]
        body = "".join(f"<tr><td><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>" for k, v in rows)
        text = f"<table>{body}</table>"
        self.sender.send(WIN_STATUS, lambda vis: vis.text(
            text, win=WIN_STATUS, env=self.env, opts={"title": f"{self.name} status"}))

    def close(self, timeout=5.0):
        """Flush pending updates (bounded by `timeout` seconds) and stop the background threads."""
        if self._closed:
            return
        self._closed = True
        if self.html_worker is not None:
            self.html_worker.submit("page", self._write_page)
            self.html_worker.stop(timeout)
        if self.sender is not None:
            self.sender.stop(timeout)
        if self._server_proc is not None and self._server_proc.poll() is None:
            self._server_proc.terminate()
            try:
                self._server_proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self._server_proc.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- background jobs --------------------------------------------------------------------
    def _send_grid(self, vis, snap, epoch):
        arrays = {k: to_uint8(t, signed=True) for k, t in snap.items()}
        grid = img_utils.labelled_grid(arrays, ncols=self.ncols, cell=self.winsize)
        import numpy as np

        chw = np.asarray(grid).transpose(2, 0, 1)
        # JPEG encodes ~3x faster than PNG here: less CPU taken from training
        vis.image(chw, win=WIN_VISUALS, env=self.env,
                  opts={"title": f"{self.name} epoch {epoch}: " + " ".join(arrays), "jpgquality": 90})

    def _send_losses(self, vis):
        import numpy as np

        with self._lock:
            names = list(self._loss_names)
            x = np.asarray(self._loss_x, dtype=float)
            y = np.stack([np.asarray(self._loss_y[k], dtype=float) for k in names], axis=1)
        if len(names) == 1:
            y = y[:, 0]
        else:
            x = np.repeat(x[:, None], len(names), axis=1)
        opts = {"title": f"{self.name} loss over time", "legend": names,
                "xlabel": "epoch", "ylabel": "loss"}
        if len(x) == 1:  # visdom draws nothing for a single-point line; show markers
            opts["markers"] = True
        vis.line(X=x, Y=y, win=WIN_LOSSES, env=self.env, opts=opts)

    def _send_quality(self, vis):
        import numpy as np

        with self._lock:
            xs, series = quality_series(self._quality)
        names = list(series)
        y = np.stack([np.asarray(series[k], dtype=float) for k in names], axis=1)
        x = np.repeat(np.asarray(xs, dtype=float)[:, None], len(names), axis=1)
        vis.line(X=x, Y=y, win=WIN_QUALITY, env=self.env,
                 opts={"title": f"{self.name} held-out quality (lower is better)", "legend": names,
                       "xlabel": "epoch", "ylabel": "value", "markers": True})

    def _save_images(self, snap, epoch):
        for name, t in snap.items():
            save_image(t, self.img_dir / f"epoch{epoch:03d}_{name}.png", signed=True)
        with self._lock:
            self._saved_epochs[epoch] = list(snap)

    def _write_page(self):
        with self._lock:
            epochs = sorted(self._saved_epochs.items(), reverse=True)  # newest first
            xs = list(self._loss_x)
            series = {k: list(v) for k, v in self._loss_y.items()}
            quality = list(self._quality)
        svg = loss_svg(xs, series, title=f"{self.name} losses")
        atomic_write_text(self.web_dir / "loss.svg", svg)
        svgs = [("Loss curves", svg)]
        if quality:
            qx, qs = quality_series(quality)
            svgs.append(("Quality on held-out images (eval_log.jsonl; lower is better, C2ST 0.5 = indistinguishable)",
                         loss_svg(qx, qs, title=f"{self.name} quality", xlabel="epoch")))
        # sources relative to the page, so they load wherever --checkpoints_dir points (relative or not)
        sections = [(f"epoch [{e}]", [(Path(self.img_dir.name) / f"epoch{e:03d}_{n}.png", n) for n in names])
                    for e, names in epochs]
        options = sorted((str(k), str(v)) for k, v in vars(self.opt).items() if k != "explicit")  # not an option
        write_page(self.web_dir / "index.html", f"Experiment name = {self.name}",
                   sections=sections, svgs=svgs,
                   tables=[("Options", ("option", "value"), options)],
                   width=self.winsize, refresh=60,
                   per_row=self.ncols if self.ncols > 0 else 8)

    def _html_failed(self, key, exc):
        if not self._html_warned:
            self._html_warned = True
            self._warn(f"warning: could not write the training page under {self.web_dir} "
                       f"({type(exc).__name__}: {exc}); training goes on")

    # -- optional local server --------------------------------------------------------------
    def _start_local_server(self):
        """Start `cyclegan-visdom` on this port; only because the user asked (display_start_server)."""
        host = urlparse(self.server if "://" in self.server else f"http://{self.server}").hostname
        if host not in ("localhost", "127.0.0.1", "::1"):
            self._warn(f"warning: --display_start_server only starts a local server; "
                       f"{self.server} is not local, so none was started")
            return
        import socket

        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", self.port)) == 0:
                return  # something already listens there
        cmd = [sys.executable, "-m", "cyclegan.visdom_server", "--port", str(self.port),
               "--allow_missing_assets"]
        repo = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=repo + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self._server_proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15  # one-off wait at start-up so the first connect works
        while time.monotonic() < deadline and self._server_proc.poll() is None:
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.2)
        self._warn(f"started a visdom server (pid {self._server_proc.pid}): "
                   f"open http://localhost:{self.port}; it stops when training ends")
