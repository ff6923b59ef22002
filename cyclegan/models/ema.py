"""Generator EMA (--ema_decay D): exponential moving averages of the generators' weights, updated after every
training step. The averages are what testing, evaluation, the comparison, video and the quality curves use by
default (cyclegan.runs.layout.RunFolder.net_for_use picks `{epoch}_net_G_A_ema.pth` when a run saved it; --raw_weights
for the raw ones), while the official `{epoch}_net_G_A.pth` keep the raw weights.

Formula (update t = 0, 1, ...; the warm-up keeps early random weights out of short runs' averages):
    d_t = min(D, (1 + t) / (10 + t));   avg <- d_t * avg + (1 - d_t) * weights
Buffers (none with instance norm) are copied. Training never reads the averages, so a run scored with and
without them is the same run.
"""
import copy

import torch

from .weights import unwrap

SUFFIX = "_ema"


class EMA:
    """Averages of `sources` ({name: module}); named `{name}_ema` in files and states."""

    def __init__(self, sources, decay):
        if not 0 < decay < 1:
            raise ValueError(f"--ema_decay {decay}: give a decay between 0 and 1 (e.g. 0.999), or 0 for off")
        self.decay, self.sources, self.updates = float(decay), dict(sources), 0
        self.nets = {name: copy.deepcopy(unwrap(net)).requires_grad_(False).eval() for name, net in sources.items()}

    def current_decay(self):
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self):
        d = self.current_decay()
        for name, src in self.sources.items():
            src, avg = unwrap(src), self.nets[name]
            torch._foreach_lerp_(list(avg.parameters()), [p.detach() for p in src.parameters()], 1.0 - d)
            for a, b in zip(avg.buffers(), src.buffers()):
                a.copy_(b)
        self.updates += 1

    @torch.no_grad()
    def reset(self):
        """Start the averages again from the current weights (a weights-only resume, a state without them)."""
        for name, src in self.sources.items():
            self.nets[name].load_state_dict(unwrap(src).state_dict())
        self.updates = 0

    def named_nets(self):
        """[(file name, module)], e.g. ('G_A_ema', ...): saved as {epoch}_net_G_A_ema.pth."""
        return [(name + SUFFIX, net) for name, net in self.nets.items()]

    def state_dict(self):
        return {"updates": self.updates, "decay": self.decay,
                "nets": {name: {k: v.detach().cpu() for k, v in net.state_dict().items()}
                         for name, net in self.nets.items()}}

    def load_state_dict(self, state):
        if not state:
            self.reset()
            return
        for name, net in self.nets.items():
            net.load_state_dict(state["nets"][name])
        self.updates = int(state["updates"])


def eval_generators(model, raw=False):
    """The model's generators (model.generators(), forward first) to evaluate with: each one's average when the
    model keeps it and `raw` is False, else the plain module."""
    ema = getattr(getattr(model, "recipe", None), "ema", None)
    averaged = ema.nets if ema is not None and not raw else {}
    return tuple(averaged.get(name, unwrap(net)) for name, net in model.generators().items())
