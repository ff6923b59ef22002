"""When the training loop shows what: the one place that decides which iterations feed the loss log, the console
and the display (the Visualizer's sinks: page, visdom, W&B, TensorBoard).

Losses (loss_log.txt, console, loss plots, status) every --print_freq images, visuals every --display_freq
images (saved to the page every --update_html_freq), as officially; and also at the first iteration of the
process and at the end of every epoch, so a run of any length shows pictures at once and ends with its last
images and a loss curve of more than one point (a run shorter than --print_freq included). The extra
loss_log.txt lines have the official format. Between those points a step costs integer arithmetic only: the
losses are read (a host sync) only where they are shown.
"""
import time


class Report:
    """Feeds `log` (LossLog), `vis` (Visualizer) and the epoch's progress bar; `guard` (NanGuard) is checked
    wherever the losses are read; `dataset_size` turns images into fractional epochs."""

    def __init__(self, opt, model, vis, log, guard, dataset_size):
        self.opt, self.model, self.vis, self.log, self.guard = opt, model, vis, log, guard
        self.dataset_size = max(1, dataset_size)
        self.started = False
        self.shown = self.printed = None  # total_iters of the last display / loss point
        self.bar = None
        self.epoch_steps = self.n = 0

    def start_epoch(self, bar):
        self.bar, self.epoch_steps = bar, 0
        self._reset_window()

    def _reset_window(self):
        self.window_start, self.window_iters, self.t_data = time.time(), 0, 0.0

    def step(self, epoch, epoch_iter, total_iters, n, t_data):
        """After each optimisation step of `n` images (all ranks), `t_data` seconds spent waiting for data."""
        first, self.started = not self.started, True
        self.epoch_steps += 1
        self.n = n
        self.window_iters += 1
        self.t_data += t_data
        opt = self.opt
        if first or total_iters % opt.display_freq < n:
            self.show(epoch, total_iters, save=first or total_iters % opt.update_html_freq < n)
        if first or total_iters % opt.print_freq < n:
            self.print_losses(epoch, epoch_iter, total_iters, n)

    def end_epoch(self, epoch, epoch_iter, total_iters):
        """After an epoch's last step: its last visuals and losses, unless that step already showed them."""
        if not self.epoch_steps:  # a resumed run that starts at an epoch's very end
            return
        if self.shown != total_iters:
            self.show(epoch, total_iters, save=True)
        if self.printed != total_iters:
            self.print_losses(epoch, epoch_iter, total_iters, self.n)

    def show(self, epoch, total_iters, save):
        self.shown = total_iters
        self.vis.display_current_results(self.model.get_current_visuals(), epoch, save_result=save, step=total_iters)

    def print_losses(self, epoch, epoch_iter, total_iters, n):
        self.printed = total_iters
        self.guard.check()
        losses = self.model.get_current_losses()
        iters = max(1, self.window_iters)
        t_iter = (time.time() - self.window_start) / iters
        self.bar.write(self.log.write(epoch, epoch_iter, losses, t_iter / n, self.t_data / iters))
        self.vis.plot_current_losses(epoch, epoch_iter / self.dataset_size, losses, step=total_iters)
        self.vis.show_status(epoch, epoch_iter, self.model.current_lr(), t_iter, step=total_iters)
        self.bar.update(0, **losses)
        self._reset_window()
