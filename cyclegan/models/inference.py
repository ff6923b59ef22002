"""Compiled inference for generators: torch.compile'd once per input shape, with the compile time kept apart
from the images/s (on by default on CUDA for cyclegan-test, the single-direction test and the comparison;
off on the CPU, where inductor takes minutes per net for little gain)."""
import time

import torch


def compile_for_inference(device_type, requested=None):
    """Whether to compile: `requested` (a --compile value) if given, else on for CUDA only."""
    return device_type == "cuda" if requested is None else bool(requested)


class CompiledNet:
    """Calls a torch.compile'd net; the first call for each input shape (compilation plus one run) is timed
    apart, so callers can report compile time separately. `_orig_mod` lets unwrap() find the plain net."""

    def __init__(self, net, backend="inductor", mode=None):
        self._orig_mod = net
        self.compiled = torch.compile(net, backend=backend, mode=mode, dynamic=False)
        self.first_call_s = {}  # (shape, dtype) -> seconds of its first call

    def __call__(self, x):
        key = (tuple(x.shape), x.dtype)
        if key in self.first_call_s:
            return self.compiled(x)
        start = time.perf_counter()
        y = self.compiled(x)
        if x.device.type == "cuda":
            torch.cuda.synchronize(x.device)
        self.first_call_s[key] = time.perf_counter() - start
        return y

    def warm(self, x):
        """Compile for x's shape now (no-op when done), outside whatever the caller is timing."""
        if (tuple(x.shape), x.dtype) not in self.first_call_s:
            with torch.no_grad():
                self(x)

    @property
    def compile_seconds(self):
        return sum(self.first_call_s.values())

    def __getattr__(self, name):  # .eval(), .parameters(), ... of the plain net
        return getattr(self.__dict__["_orig_mod"], name)


def compile_nets(model, names, backend="inductor"):
    """Wrap model.net<name> for each name in CompiledNet; returns the wrappers."""
    wrapped = []
    for name in names:
        net = CompiledNet(getattr(model, "net" + name), backend)
        setattr(model, "net" + name, net)
        wrapped.append(net)
    return wrapped


def compile_summary(nets):
    """(total compile seconds, number of compiled shapes) over CompiledNet wrappers."""
    return sum(n.compile_seconds for n in nets), sum(len(n.first_call_s) for n in nets)
