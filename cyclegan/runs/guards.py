"""Run guards: a NaN/Inf watch that needs no per-iteration host sync, and graceful SIGINT/SIGTERM."""
import os
import signal
import sys

import torch

from ..errors import UserError


class NonFiniteLoss(UserError, RuntimeError, FloatingPointError):
    """A loss became NaN or Inf; the message names the loss and the iteration."""


class NanGuard:
    """Records, on the device, the first iteration where any loss was not finite; check() syncs."""

    def __init__(self, loss_names, device):
        self.names = list(loss_names)
        self.first_iter = torch.full((), -1, dtype=torch.long, device=device)
        self.first_bad = torch.zeros(len(self.names), dtype=torch.bool, device=device)

    def observe(self, model, iteration):
        self.observe_values([getattr(model, "loss_" + n) for n in self.names], iteration)

    def observe_values(self, losses, iteration):
        """losses: one scalar tensor per name, in order."""
        vals = torch.stack([v.detach().float().reshape(()) for v in losses])
        bad = ~torch.isfinite(vals)
        new = bad.any() & (self.first_iter < 0)
        self.first_iter = torch.where(new, torch.full_like(self.first_iter, iteration), self.first_iter)
        self.first_bad = torch.where(new, bad, self.first_bad)
        if self.first_iter.device.type == "cpu":  # no device to wait for: stop at once
            self.check()

    def check(self):
        it = int(self.first_iter)
        if it >= 0:
            names = [n for n, b in zip(self.names, self.first_bad.tolist()) if b]
            raise NonFiniteLoss(f"loss {', '.join(names)} became NaN/Inf at iteration {it}; training stopped "
                                f"and no checkpoint was written from that point on. Lower --lr or check the data.")


class StopSignal:
    """First SIGINT/SIGTERM: ask the loop to stop after the current iteration. Second: exit at once."""

    def __init__(self):
        self.requested = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, signum, frame):
        if self.requested is not None:
            print(f"\nsecond {signal.Signals(signum).name}: exiting now without saving", file=sys.stderr, flush=True)
            os._exit(128 + signum)
        self.requested = signal.Signals(signum).name
        print(f"\n{self.requested} received: finishing this iteration, then saving "
              f"(send it again to exit at once)", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
