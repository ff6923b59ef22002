"""loss_log.txt in the official format: one line per print_freq with epoch, iters, times and losses."""
import os
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
