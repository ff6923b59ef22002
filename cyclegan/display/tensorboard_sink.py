"""The TensorBoard sink (--use_tensorboard, --tensorboard_dir): scalars and images through
torch.utils.tensorboard's SummaryWriter, at x = images seen (total_iters):

  loss/<name>       every loss point          lr, time_per_iter   with every status update
  quality/<key>     every held-out quality point (C2ST, cycle L1, colour distance; training/quality.py)
  visuals/<name>    every display (one image per visual)

The writer needs the tensorboard package, an optional extra (`pip install .[tensorboard]`): without it
--use_tensorboard stops the run at start with one line. Watch with `tensorboard --logdir CHECKPOINTS` (every run
is its own folder there). Image encoding and writing run in the sink's background thread.
"""
import os

from cyclegan.display.sink import QueuedSink, quality_scalars
from cyclegan.errors import UserError
from cyclegan.images import to_uint8

INSTALL_HINT = "pip install tensorboard (or: pip install .[tensorboard] in this repository)"


def writer_class(log_dir):
    """torch's SummaryWriter class, once `log_dir` exists; a UserError naming the flag and what to do otherwise."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise UserError(f"--use_tensorboard needs the tensorboard package, which is not installed ({e}): "
                        f"{INSTALL_HINT}, or leave out --use_tensorboard") from None
    try:
        os.makedirs(log_dir, exist_ok=True)
    except OSError as e:
        raise UserError(f"--tensorboard_dir {log_dir}: cannot write there ({e}); pass a writable folder") from None
    return SummaryWriter


class TensorBoardSink(QueuedSink):
    """Writes to `log_dir`. A resumed run (begin(step) with step > 0) opens its writer with purge_step = step + 1,
    so TensorBoard drops what the interrupted process wrote after the checkpoint it resumes from."""

    def __init__(self, log_dir, warn):
        self.log_dir = str(log_dir)
        self._writer_class = writer_class(self.log_dir)
        self.writer = None
        self.start = 0  # images seen before this process (resume)
        self._quality_done = 0  # records already queued
        super().__init__("tensorboard-writer", warn)

    def begin(self, step):
        self.start = int(step)
        self.writer = self._writer_class(log_dir=self.log_dir, purge_step=self.start + 1 if self.start else None)

    def losses(self, epoch, x, step, losses):
        self.queue_scalars(step, {f"loss/{k}": float(v) for k, v in losses.items()})

    def status(self, epoch, iters, step, lr, t_iter):
        self.queue_scalars(step, {"lr": float(lr), "time_per_iter": float(t_iter)})

    def quality(self, records):
        for rec in records[self._quality_done:]:
            if rec["total_iters"] > self.start:  # earlier points are in the folder already (a resumed run)
                self.queue_scalars(rec["total_iters"], quality_scalars(rec))
        self._quality_done = len(records)

    # -- the worker thread -----------------------------------------------------------------------
    def _writer(self):
        if self.writer is None:  # a caller that never said where training starts
            self.writer = self._writer_class(log_dir=self.log_dir)
        return self.writer

    def write_scalars(self, points):
        self._writer()
        for step, values in points:
            for tag, v in values.items():
                self.writer.add_scalar(tag, v, global_step=step)
        self.writer.flush()  # a live `tensorboard --logdir` sees each point soon

    def write_images(self, snap, epoch, step):
        self._writer()
        for name, t in snap.items():
            self.writer.add_image(f"visuals/{name}", to_uint8(t, signed=True), global_step=int(step), dataformats="HWC")
        self.writer.flush()

    def finish(self):
        if self.writer is not None:
            self.writer.close()
