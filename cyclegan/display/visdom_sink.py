"""The visdom sink: the live view's windows in the run's environment (the labelled image grid, the loss plot, a
status table, the held-out quality plot), sent by VisdomSender's background thread; and, only when asked
(--display_start_server), a local `cyclegan-visdom` server that stops with training."""
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from cyclegan.display import visual_grid as img_utils
from cyclegan.display.html import escape
from cyclegan.display.plot import quality_series
from cyclegan.display.sink import LossSeries, Sink
from cyclegan.display.visdom_sender import VisdomSender
from cyclegan.images import to_uint8

WIN_VISUALS, WIN_LOSSES, WIN_STATUS = "cyclegan_visuals", "cyclegan_losses", "cyclegan_status"
WIN_QUALITY = "cyclegan_quality"


class VisdomSink(Sink):
    def __init__(self, server, port, env, name, ncols, winsize, start_server, retry_interval, warn):
        self.server, self.port, self.env, self.name = server, int(port), env, name
        self.ncols, self.winsize, self._warn = ncols, winsize, warn
        self.series = LossSeries()
        self._quality = []
        self._server_proc = None
        if start_server:
            self._start_local_server()
        self.sender = VisdomSender(server, self.port, env, retry_interval=retry_interval, warn=warn)
        self.sender.submit("__connect__", lambda: None)  # connect (or warn) right away

    def images(self, snap, epoch, step, save):
        self.sender.send(WIN_VISUALS, lambda vis: self._send_grid(vis, snap, epoch))

    def losses(self, epoch, x, step, losses):
        self.series.add(x, losses)
        self.sender.send(WIN_LOSSES, self._send_losses)

    def status(self, epoch, iters, step, lr, t_iter):
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        rows = [("experiment", self.name), ("epoch", epoch), ("iteration", iters),
                ("learning rate", f"{float(lr):.3g}"), ("time per iteration", f"{float(t_iter):.4f} s"),
                ("updated", stamp)]
        body = "".join(f"<tr><td><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>" for k, v in rows)
        text = f"<table>{body}</table>"
        self.sender.send(WIN_STATUS, lambda vis: vis.text(
            text, win=WIN_STATUS, env=self.env, opts={"title": f"{self.name} status"}))

    def quality(self, records):
        self._quality = list(records)
        self.sender.send(WIN_QUALITY, self._send_quality)

    def close(self, timeout):
        self.sender.stop(timeout)
        if self._server_proc is not None and self._server_proc.poll() is None:
            self._server_proc.terminate()
            try:
                self._server_proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self._server_proc.kill()

    # -- background jobs (the sender's thread) ---------------------------------------------------
    def _send_grid(self, vis, snap, epoch):
        import numpy as np

        arrays = {k: to_uint8(t, signed=True) for k, t in snap.items()}
        grid = img_utils.labelled_grid(arrays, ncols=self.ncols, cell=self.winsize)
        chw = np.asarray(grid).transpose(2, 0, 1)
        # JPEG encodes ~3x faster than PNG here: less CPU taken from training
        vis.image(chw, win=WIN_VISUALS, env=self.env,
                  opts={"title": f"{self.name} epoch {epoch}: " + " ".join(arrays), "jpgquality": 90})

    def _send_losses(self, vis):
        import numpy as np

        xs, values = self.series.copy()
        names = list(values)
        x = np.asarray(xs, dtype=float)
        y = np.stack([np.asarray(values[k], dtype=float) for k in names], axis=1)
        if len(names) == 1:
            y = y[:, 0]
        else:
            x = np.repeat(x[:, None], len(names), axis=1)
        opts = {"title": f"{self.name} loss over time", "legend": names, "xlabel": "epoch", "ylabel": "loss"}
        if len(x) == 1:  # visdom draws nothing for a single-point line; show markers
            opts["markers"] = True
        vis.line(X=x, Y=y, win=WIN_LOSSES, env=self.env, opts=opts)

    def _send_quality(self, vis):
        import numpy as np

        xs, series = quality_series(list(self._quality))
        names = list(series)
        y = np.stack([np.asarray(series[k], dtype=float) for k in names], axis=1)
        x = np.repeat(np.asarray(xs, dtype=float)[:, None], len(names), axis=1)
        vis.line(X=x, Y=y, win=WIN_QUALITY, env=self.env,
                 opts={"title": f"{self.name} held-out quality (lower is better)", "legend": names,
                       "xlabel": "epoch", "ylabel": "value", "markers": True})

    # -- optional local server --------------------------------------------------------------------
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
        cmd = [sys.executable, "-m", "cyclegan.visdom_server", "--port", str(self.port), "--allow_missing_assets"]
        repo = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=repo + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self._server_proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15  # one-off wait at start-up so the first connect works
        while time.monotonic() < deadline and self._server_proc.poll() is None:
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.2)
        self._warn(f"started a visdom server (pid {self._server_proc.pid}): "
                   f"open http://localhost:{self.port}; it stops when training ends")
