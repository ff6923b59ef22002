"""loss_log.txt in the official format: one line per print_freq with epoch, iters, times and losses."""
import os
import re
import time


class LossLog:
    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "a") as f:
            f.write(f"================ Training Loss ({time.strftime('%c')}) ================\n")

    def write(self, epoch, iters, losses, t_comp, t_data):
        """Append one line and return it (the caller prints it)."""
        line = f"(epoch: {epoch}, iters: {iters}, time: {t_comp:.3f}, data: {t_data:.3f}) " + \
            " ".join(f"{k}: {v:.3f}" for k, v in losses.items())
        with open(self.path, "a") as f:
            f.write(line + "\n")
        return line


LINE = re.compile(r"\(epoch: (\d+), iters: (\d+)[^)]*\) (.*)")


def read_loss_log(path):
    """(xs, {loss: [values]}) from a loss_log.txt, x = epoch + iters / (the largest iters seen), as the
    live plot draws it; ([], {}) when there is no log."""
    try:
        with open(path, encoding="utf-8") as f:
            found = [m.groups() for m in map(LINE.match, f) if m]
    except OSError:
        return [], {}
    size = max((int(it) for _, it, _ in found), default=1) or 1
    xs, series = [], {}
    for epoch, it, rest in found:
        values = dict(pair.split(": ") for pair in re.findall(r"\S+: [-\d.e+naif]+", rest))
        xs.append(int(epoch) + int(it) / size)
        for k in list(series) + [k for k in values if k not in series]:
            series.setdefault(k, [None] * (len(xs) - 1)).append(float(values[k]) if k in values else None)
    return xs, series
