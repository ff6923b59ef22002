"""The one small interface every training display sink has (the training page, visdom, W&B, TensorBoard), and
the pieces they share: the whole loss curve kept in memory and a background queue of points.

The Visualizer (visualizer.py) feeds every sink the same stream from the training thread; a sink's methods must
return at once (a list append, a job handed to a background worker), never encode, write or talk to a network
there. A new sink is one file: a subclass of Sink that overrides what it shows, built in visualizer.build_sinks.
"""
import math
import threading

from cyclegan.display.worker import LatestJobWorker


class Sink:
    """What the training loop shows, one call per event; every method is optional (the default ignores it)."""

    def begin(self, step):
        """Training starts (step 0) or resumes after `step` images seen; called once, before the first event."""

    def wants_images(self, epoch, save):
        """Whether images(...) would use this display; when no sink wants one, no copy is taken off the device."""
        return True

    def images(self, snap, epoch, step, save):
        """The current visuals: `snap` is {name: CPU (3, H, W) tensor in [-1, 1]} (cyclegan.display.visual_grid.snapshot);
        `step` counts images seen (total_iters); `save` asks for a saved copy (the page's update_html_freq)."""

    def losses(self, epoch, x, step, losses):
        """One loss point: {name: float} at fractional epoch `x` and `step` images seen."""

    def status(self, epoch, iters, step, lr, t_iter):
        """Epoch, images into the epoch, images seen, learning rate and seconds per iteration."""

    def quality(self, records):
        """Every held-out quality record so far (eval_log.jsonl, training/quality.py), oldest first."""

    def close(self, timeout):
        """Flush what is pending (bounded by `timeout` seconds) and stop."""


def quality_scalars(record):
    """The numbers of one eval_log.jsonl record as {quality/<key>: float} (finite values only, no bookkeeping)."""
    return {f"quality/{k}": float(v) for k, v in record.items()
            if isinstance(v, (int, float)) and k not in ("epoch", "total_iters", "time") and math.isfinite(float(v))}


class LossSeries:
    """The whole loss curve: x values and one list per loss name (names fixed by the first point; a loss
    missing from a later point repeats its last value). Thread-safe: the loop appends, workers read."""

    def __init__(self):
        self._lock = threading.Lock()
        self.x, self.names, self.values = [], [], {}

    def add(self, x, losses):
        with self._lock:
            if not self.names:
                self.names = [str(k) for k in losses]
                self.values = {k: [] for k in self.names}
            self.x.append(float(x))
            for k in self.names:
                v = losses.get(k, None)
                if v is None:
                    v = self.values[k][-1] if self.values[k] else float("nan")
                self.values[k].append(float(v))

    def copy(self):
        """(xs, {name: values}) as new lists."""
        with self._lock:
            return list(self.x), {k: list(v) for k, v in self.values.items()}


class QueuedSink(Sink):
    """A sink that writes from one background thread: scalar points queue up (none is lost, one job writes all
    that waited), images keep only the newest set while the writer is busy (every set with `every_image`, for a
    caller that shows each picture once, such as testing). Subclasses implement write_scalars(points) and
    write_images(snap, epoch, step); write_* run in the worker thread only."""

    def __init__(self, name, warn, every_image=False):
        self.name, self._warn, self.every_image = name, warn, every_image
        self._points = []  # (step, {tag: value}) waiting for the writer
        self._plock = threading.Lock()
        self._failed = False
        self.worker = LatestJobWorker(name, on_error=self._job_failed)

    def queue_scalars(self, step, values):
        """Queue {tag: float} at `step` (images seen); the worker writes every queued point in order."""
        with self._plock:
            self._points.append((int(step), dict(values)))
        self.worker.submit("scalars", self._drain)

    def _drain(self):
        with self._plock:
            points, self._points = self._points, []
        if points:
            self.write_scalars(points)

    def images(self, snap, epoch, step, save):
        key = ("images", step) if self.every_image else "images"
        self.worker.submit(key, lambda: self.write_images(snap, epoch, step))

    def write_scalars(self, points):
        raise NotImplementedError

    def write_images(self, snap, epoch, step):
        raise NotImplementedError

    def finish(self):
        """Runs in the worker after the last job (close the writer, end the run)."""

    def close(self, timeout):
        self.worker.submit("finish", self.finish)  # submitted last, so it runs after every queued write
        self.worker.stop(timeout)

    def _job_failed(self, key, exc):
        if not self._failed:  # say it once; training goes on
            self._failed = True
            self._warn(f"warning: {self.name} could not write {key} ({type(exc).__name__}: {exc}); "
                       "training goes on")
