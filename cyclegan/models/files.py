"""Which weight file of a run a name and epoch mean: the one rule for EMA weights.

Training with generator EMA saves the averaged weights as {epoch}_net_{name}_ema.pth beside the official
raw {epoch}_net_{name}.pth; whoever loads a net for use (translation, export, evaluation) takes the EMA file
when it exists, unless asked for the raw weights.
"""
import os


def net_file(run_dir, epoch, name, raw=False):
    """{epoch}_net_{name}_ema.pth in run_dir when it exists and raw is False, else {epoch}_net_{name}.pth."""
    ema = os.path.join(run_dir, f"{epoch}_net_{name}_ema.pth")
    if not raw and os.path.isfile(ema):
        return ema
    return os.path.join(run_dir, f"{epoch}_net_{name}.pth")


def net_saved(run_dir, epoch, name):
    """Whether the run saved net `name` at `epoch`, raw or averaged."""
    return any(os.path.isfile(net_file(run_dir, epoch, name, raw)) for raw in (False, True))
