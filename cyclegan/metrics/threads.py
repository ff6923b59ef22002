"""A context manager that runs torch on a given number of CPU threads and restores the old count.

Small nets (the painting classifier) and busy shared CPUs run much faster on one thread:
with more, every tiny op waits on thread synchronisation.
"""
import contextlib

import torch


@contextlib.contextmanager
def torch_threads(n):
    """Run torch on `n` CPU threads inside the block (None: leave as is), then restore."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
