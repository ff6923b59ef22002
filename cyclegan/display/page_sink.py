"""The training page sink: checkpoints/NAME/web/index.html with the visuals per epoch (newest first), the loss
curves and the held-out quality curves as pictures, and the run's options; PNGs and the page are written by a
background worker (at most once a second), never in the training thread."""
from pathlib import Path

from cyclegan.display.html import write_page
from cyclegan.display.plot import loss_svg, quality_series
from cyclegan.display.sink import LossSeries, Sink
from cyclegan.display.worker import LatestJobWorker
from cyclegan.images import save_image
from cyclegan.io import atomic_write_text


class PageSink(Sink):
    """web_dir: the page's folder; options: [(name, value)] for its table; ncols, winsize: the image layout."""

    def __init__(self, web_dir, name, options, ncols, winsize, warn):
        self.web_dir, self.name, self.options = Path(web_dir), name, options
        self.img_dir = self.web_dir / "images"
        self.ncols, self.winsize, self._warn = ncols, winsize, warn
        self.series = LossSeries()
        self._saved_epochs = {}  # epoch -> [visual names], filled by the worker
        self._quality = []
        self._epochs_seen = set()  # epochs whose images were queued
        self._warned = False
        self.img_dir.mkdir(parents=True, exist_ok=True)
        self.worker = LatestJobWorker("html-writer", on_error=self._failed, min_interval=1.0)

    def wants_images(self, epoch, save):
        return save or int(epoch) not in self._epochs_seen  # as officially, each epoch's first display is saved

    def images(self, snap, epoch, step, save):
        epoch = int(epoch)
        if not self.wants_images(epoch, save):
            return
        self._epochs_seen.add(epoch)
        self.worker.submit(("images", epoch), lambda: self._save_images(snap, epoch))
        self.worker.submit("page", self._write_page)

    def losses(self, epoch, x, step, losses):
        self.series.add(x, losses)

    def quality(self, records):
        self._quality = list(records)
        self.worker.submit("page", self._write_page)

    def close(self, timeout):
        self.worker.submit("page", self._write_page)  # the whole loss curve and the last images
        self.worker.stop(timeout)

    def _save_images(self, snap, epoch):
        for name, t in snap.items():
            save_image(t, self.img_dir / f"epoch{epoch:03d}_{name}.png", signed=True)
        self._saved_epochs[epoch] = list(snap)

    def _write_page(self):
        epochs = sorted(self._saved_epochs.items(), reverse=True)  # newest first
        xs, series = self.series.copy()
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
        write_page(self.web_dir / "index.html", f"Experiment name = {self.name}",
                   sections=sections, svgs=svgs, tables=[("Options", ("option", "value"), self.options)],
                   width=self.winsize, refresh=60, per_row=self.ncols if self.ncols > 0 else 8)

    def _failed(self, key, exc):
        if not self._warned:
            self._warned = True
            self._warn(f"warning: could not write the training page under {self.web_dir} "
                       f"({type(exc).__name__}: {exc}); training goes on")
