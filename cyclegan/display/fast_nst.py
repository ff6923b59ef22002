"""What a fast-NST training run shows (the `report` of cyclegan.nst.fast_train.train): the progress bar with the
latest losses, loss_log.txt, and web/index.html with the loss plot and each sample photo beside its stylisation."""
import os

from ..images import save_image
from ..nst.transformer import stylize
from .html import write_page
from .loss_log import LossLog
from .plot import loss_svg
from .progress import Progress


class FastNSTReport:
    def __init__(self, save_dir, name):
        self.save_dir, self.name = save_dir, name
        self.bar = self.log = None

    def start(self, total):
        self.log = LossLog(os.path.join(self.save_dir, "loss_log.txt"))
        self.bar = Progress(total, desc="fast-nst", unit="it")

    def step(self):
        self.bar.update(1)

    def losses(self, epoch, iteration, values, t_iter, t_data):
        self.bar.update(0, **values)
        self.log.write(epoch, iteration, values, t_iter, t_data)

    def saved(self, net, samples, counters, cfg):
        write_samples_page(self.save_dir, self.name, net, samples, counters, cfg)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def write_samples_page(save_dir, name, net, samples, counters, cfg):
    """web/index.html: the loss plot, then each sample photo beside its stylisation at this iteration."""
    web = os.path.join(save_dir, "web")
    it = counters["iteration"]
    was_training = net.training
    net.eval()
    items = []
    for i, photo in enumerate(samples):
        out = stylize(net, photo, cfg.amp_dtype, cfg.memory_format)
        src, dst = os.path.join(web, "images", f"sample{i}_photo.png"), os.path.join(web, "images",
                                                                                       f"iter{it:07d}_sample{i}.png")
        if not os.path.isfile(src):
            save_image(photo, src)
        save_image(out, dst)
        items += [(src, f"photo {i}"), (dst, f"iteration {it}")]
    net.train(was_training)
    h = counters["history"]
    parts = {k: v for k, v in h.items() if k != "iter"}  # LOSSES, and "temporal" with --lambda_temporal
    svg = loss_svg(h["iter"], parts, title="Fast NST losses (weighted total, unweighted parts)", xlabel="iteration")
    write_page(os.path.join(web, "index.html"), f"Fast neural style: {name}", sections=[("Samples", items)],
               svgs=[("Losses", svg)], notes=[f"iteration {it}"], per_row=2)
