"""The TensorBoard sink (--use_tensorboard, --tensorboard_dir): scalars and images through
torch.utils.tensorboard's SummaryWriter, at x = images seen (total_iters):

  loss/<name>       every loss point          lr, time_per_iter   with every status update
  quality/<key>     every held-out quality point (C2ST, cycle L1, colour distance; training/quality.py)
  visuals/<name>    every display (one image per visual)

The writer needs the tensorboard package, an optional extra (`pip install .[tensorboard]`): without it
--use_tensorboard stops the run at start with one line. Watch with `tensorboard --logdir CHECKPOINTS` (every run
is its own folder there). Image encoding and writing run in the sink's background thread.
"""
from cyclegan.display.sink import QueuedSink, quality_scalars
from cyclegan.errors import UserError
from cyclegan.images import to_uint8

INSTALL_HINT = "pip install tensorboard (or: pip install .[tensorboard] in this repository)"


def summary_writer(log_dir):
    """A SummaryWriter on `log_dir`, or a UserError naming the flag and the install command."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise UserError(f"--use_tensorboard needs the tensorboard package, which is not installed ({e}): "
                        f"{INSTALL_HINT}, or leave out --use_tensorboard") from None
    try:
        return SummaryWriter(log_dir=str(log_dir))
    except OSError as e:
        raise UserError(f"--tensorboard_dir {log_dir}: cannot write there ({e}); pass a writable folder") from None


class TensorBoardSink(QueuedSink):
    def __init__(self, log_dir, warn):
        self.log_dir = log_dir
        self.writer = summary_writer(log_dir)
        self._quality_done = 0  # records already queued
        super().__init__("tensorboard-writer", warn)

    def losses(self, epoch, x, step, losses):
        self.queue_scalars(step, {f"loss/{k}": float(v) for k, v in losses.items()})

    def status(self, epoch, iters, step, lr, t_iter):
        self.queue_scalars(step, {"lr": float(lr), "time_per_iter": float(t_iter)})

    def quality(self, records):
        for rec in records[self._quality_done:]:
            self.queue_scalars(rec["total_iters"], quality_scalars(rec))
        self._quality_done = len(records)

    # -- the worker thread -----------------------------------------------------------------------
    def write_scalars(self, points):
        for step, values in points:
            for tag, v in values.items():
                self.writer.add_scalar(tag, v, global_step=step)
        self.writer.flush()  # a live `tensorboard --logdir` sees each point soon

    def write_images(self, snap, epoch, step):
        for name, t in snap.items():
            self.writer.add_image(f"visuals/{name}", to_uint8(t, signed=True), global_step=int(step), dataformats="HWC")
        self.writer.flush()

    def finish(self):
        self.writer.close()
