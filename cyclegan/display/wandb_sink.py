"""The Weights & Biases sink (--use_wandb, --wandb_project_name), as the official code has it: one W&B run per
training run, named after --name, with the options as its config; the losses at every loss point, the visuals
at every display (one image per visual, and a "Result" table row per new epoch), the learning rate and time per
iteration, and the held-out quality points. Every row carries `iters` (images seen) and `epoch`, and the charts
use `iters` as their x axis.

wandb is an optional extra (`pip install .[wandb]`): without it --use_wandb stops the run at start with one line.
The run's files go to CHECKPOINTS/NAME/wandb/ (WANDB_MODE=offline works without a network; `wandb sync` uploads
them later). Everything after wandb.init runs in the sink's background thread.
"""
from cyclegan.display.sink import QueuedSink, quality_scalars
from cyclegan.errors import UserError
from cyclegan.images import to_uint8

INSTALL_HINT = "pip install wandb (or: pip install .[wandb] in this repository)"


def import_wandb():
    """The wandb module, or a UserError naming the flag and the install command."""
    try:
        import wandb
    except ImportError as e:
        raise UserError(f"--use_wandb needs the wandb package, which is not installed ({e}): {INSTALL_HINT}, "
                        "or leave out --use_wandb") from None
    return wandb


def config_value(v):
    return v if isinstance(v, (int, float, str, bool, type(None))) else str(v)


class WandbSink(QueuedSink):
    """project, name: the W&B project and run name; options: [(name, value)] (the config); run_dir: where the
    run's W&B files go (its wandb/ subfolder); every_image: log every image set (testing), not just the newest."""

    def __init__(self, project, name, options, run_dir, warn, every_image=False):
        self.wandb = import_wandb()
        config = {k: config_value(v) for k, v in options}
        self.owned = self.wandb.run is None  # as officially, a W&B run the caller started is reused
        try:
            self.run = (self.wandb.init(project=project, name=name, config=config, dir=str(run_dir))
                        if self.owned else self.wandb.run)
        except Exception as e:  # no login, no network: say what to do before training starts
            raise UserError(f"--use_wandb: W&B could not start a run ({type(e).__name__}: {e}); run `wandb login`, or "
                            "set WANDB_MODE=offline to keep the run on disk (`wandb sync` uploads it later)") from None
        self.run.define_metric("iters")
        self.run.define_metric("*", step_metric="iters")
        self._epoch_logged = None
        self._quality_done = 0  # records already queued
        super().__init__("wandb-writer", warn, every_image)

    def losses(self, epoch, x, step, losses):
        self.queue_scalars(step, {**{k: float(v) for k, v in losses.items()}, "epoch": float(x)})

    def status(self, epoch, iters, step, lr, t_iter):
        self.queue_scalars(step, {"lr": float(lr), "time_per_iter": float(t_iter)})

    def quality(self, records):
        for rec in records[self._quality_done:]:
            self.queue_scalars(rec["total_iters"], {**quality_scalars(rec), "epoch": float(rec["epoch"])})
        self._quality_done = len(records)

    # -- the worker thread -----------------------------------------------------------------------
    def write_scalars(self, points):
        for step, values in points:
            self.run.log({**values, "iters": step})

    def write_images(self, snap, epoch, step):
        images = {k: self.wandb.Image(to_uint8(t, signed=True), caption=k) for k, t in snap.items()}
        row = {**images, "iters": int(step)}
        if epoch != self._epoch_logged:  # the official "Result" table: one row per new epoch
            self._epoch_logged = epoch
            row["Result"] = self.wandb.Table(columns=["epoch", *images], data=[[epoch, *images.values()]])
        self.run.log(row)

    def finish(self):
        if self.owned:
            self.run.finish()
