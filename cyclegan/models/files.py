"""Which weight file to load for a saved net: the averaged (EMA) generator when the run saved one, else the
raw one. The one rule shared by every loader (testing, evaluation, the comparison, video, the ablation)."""
import os


def net_file(run_dir, epoch, name, raw=False):
    """`{epoch}_net_{name}_ema.pth` when it exists and `raw` is False, else `{epoch}_net_{name}.pth`."""
    plain = os.path.join(run_dir, f"{epoch}_net_{name}.pth")
    if not raw:
        averaged = os.path.join(run_dir, f"{epoch}_net_{name}_ema.pth")
        if os.path.isfile(averaged):
            return averaged
    return plain
