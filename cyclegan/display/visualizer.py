"""The training display: one fan-out (Visualizer) that the loop calls, feeding the same stream to every sink the
options turn on: the training page (web/index.html, page_sink.py), the visdom live view (visdom_sink.py), Weights
& Biases (wandb_sink.py) and TensorBoard (tensorboard_sink.py). A new sink is one file and one line in build_sinks.

Only cheap work happens in the caller's thread: one CPU copy of the first image of each visual per display (shared
by every sink) and a list append per loss point. Image encoding, network I/O and file writing run in each sink's
background worker, which keeps just the newest images when it falls behind, so the display never slows training.
"""
import sys
from pathlib import Path

from cyclegan.display import visual_grid as img_utils
from cyclegan.display.settings import DisplaySettings
from cyclegan.display.visdom_sink import WIN_LOSSES, WIN_QUALITY, WIN_STATUS, WIN_VISUALS  # noqa: F401 (re-exported)


def option_rows(opt):
    """The run's options as sorted (name, value) pairs: the page's table and the W&B config."""
    return sorted((str(k), v) for k, v in vars(opt).items() if k != "explicit")  # `explicit` is bookkeeping


def build_sinks(opt, retry_interval, warn):
    """The sinks the options ask for, in a fixed order: W&B, TensorBoard, page, visdom. A missing optional
    package (wandb, tensorboard) is a UserError here, before training starts."""
    name = str(opt.name)
    run_dir = Path(opt.checkpoints_dir) / name
    sinks = []
    try:
        _add_sinks(sinks, opt, name, run_dir, retry_interval, warn)
    except BaseException:  # a later sink could not start: stop the earlier ones' threads
        for sink in sinks:
            sink.close(1.0)
        raise
    return sinks


def _add_sinks(sinks, opt, name, run_dir, retry_interval, warn):
    d = DisplaySettings.from_opt(opt)
    # W&B and TensorBoard first: where a package is missing, nothing else (a thread, a visdom server) has started
    if d.use_wandb:
        from cyclegan.display.wandb_sink import WandbSink
        sinks.append(WandbSink(d.wandb_project_name, name, option_rows(opt), run_dir, warn))
    if d.use_tensorboard:
        from cyclegan.display.tensorboard_sink import TensorBoardSink
        sinks.append(TensorBoardSink(d.tensorboard_dir or str(run_dir), warn))
    if not d.no_html:
        from cyclegan.display.page_sink import PageSink
        sinks.append(PageSink(run_dir / "web", name, [(k, str(v)) for k, v in option_rows(opt)], d.display_ncols,
                              d.display_winsize, warn))
    if d.display_id > 0:
        from cyclegan.display.visdom_sink import VisdomSink
        sinks.append(VisdomSink(d.display_server, d.display_port, d.display_env or name, name, d.display_ncols,
                                d.display_winsize, d.display_start_server, retry_interval, warn))


class Visualizer:
    """Feed the training display's sinks (built from `opt` by build_sinks, or given as `sinks`)."""

    def __init__(self, opt, retry_interval=60.0, warn=None, sinks=None):
        self.name = str(opt.name)
        self._warn = warn or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.sinks = list(sinks) if sinks is not None else build_sinks(opt, retry_interval, self._warn)
        self._closed = False
        self.step = 0  # images seen, as the loop last said (or a count of loss points where it says nothing)

    def of_type(self, kind):
        """The sink of class name `kind` (e.g. "VisdomSink"), or None."""
        return next((s for s in self.sinks if type(s).__name__ == kind), None)

    @property
    def sender(self):
        """The visdom sender (None when the live view is off)."""
        visdom = self.of_type("VisdomSink")
        return None if visdom is None else visdom.sender

    # -- the interface the training loop calls ---------------------------------------------------
    def begin(self, step):
        """Training starts (0) or resumes after `step` images seen (a resumed TensorBoard log drops what came later)."""
        self.step = int(step)
        for sink in self.sinks:
            sink.begin(self.step)

    def display_current_results(self, visuals, epoch, save_result=False, step=None):
        """Show the first image of each visual in every sink; save_result asks the page to keep them."""
        if self._closed:
            return
        self.step = self.step if step is None else int(step)
        takers = [sink for sink in self.sinks if sink.wants_images(epoch, bool(save_result))]
        if not takers:  # e.g. only the page, which keeps one display per epoch: no copy off the device
            return
        snap = img_utils.snapshot(visuals)  # the one copy off the device, shared by every sink
        for sink in takers:
            sink.images(snap, epoch, self.step, bool(save_result))

    def plot_current_losses(self, epoch, counter_ratio, losses, step=None):
        """One point per loss at x = epoch + counter_ratio (losses: {name: float})."""
        if self._closed:
            return
        self.step = self.step + 1 if step is None else int(step)
        x = float(epoch) + float(counter_ratio)
        for sink in self.sinks:
            sink.losses(epoch, x, self.step, losses)

    def show_status(self, epoch, iters, lr, t_iter, step=None):
        """Epoch, iteration, learning rate and seconds per iteration."""
        if self._closed:
            return
        self.step = self.step if step is None else int(step)
        for sink in self.sinks:
            sink.status(epoch, iters, self.step, lr, t_iter)

    def plot_quality(self, records):
        """The held-out quality curves (eval_log.jsonl records, oldest first)."""
        if self._closed or not records:
            return
        for sink in self.sinks:
            sink.quality(list(records))

    def close(self, timeout=5.0):
        """Flush every sink (each bounded by `timeout` seconds) and stop their threads."""
        if self._closed:
            return
        self._closed = True
        for sink in self.sinks:
            sink.close(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
