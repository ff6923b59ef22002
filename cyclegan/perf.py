"""Small device and measuring helpers: which device to use, timing, peak memory, FLOPs, GEMM rate.

On CUDA, memory is torch's allocator high-water mark. On the CPU it is the process's resident
set high-water mark (VmHWM), which Linux lets us reset through /proc/self/clear_refs; where that
is not possible we fall back to resource.getrusage, which can only grow.
"""
import ctypes
import gc
import os
import platform
import resource
import statistics
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode


def synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def median_ms(fn, warmup=1, repeats=5, device="cpu"):
    """Median wall time of fn() in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        fn()
        synchronize(device)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def resolve_device(device="auto"):
    """'auto' -> cuda when available, else cpu; 'cuda' without a GPU is an error that says so."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: no CUDA GPU is available here; use --device cpu or auto")
    return torch.device(device)


def device_name(device):
    """The GPU's name, or the CPU's model name and core count, for benchmark rows."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() + f" ({os.cpu_count()} logical cores)"
    except OSError:
        pass
    return platform.processor() or "cpu"


def gemm_gflops(device="cpu", dtype=torch.float32, n=None, repeats=3):
    """Measured dense matrix-multiply rate (GFLOP/s) for n x n matrices."""
    device = torch.device(device)
    n = n or (8192 if device.type == "cuda" else 2048)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    ms = median_ms(lambda: a @ b, warmup=1, repeats=repeats, device=device)
    return 2 * n ** 3 / (ms * 1e-3) / 1e9


def count_flops(fn):
    """FLOPs (matmuls and convolutions, forward and backward) of one call of fn(), and its result."""
    with FlopCounterMode(display=False) as counter:
        out = fn()
    return counter.get_total_flops(), out


def _status_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def release_free_memory(collect=True):
    """Collect garbage (unless not `collect`) and give freed heap pages back to the OS (glibc keeps them
    otherwise)."""
    if collect:
        gc.collect()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)  # give freed heap pages back, so RSS means "in use"
        except (OSError, AttributeError):
            pass


def reset_peak_memory(device="cpu"):
    """Start a new peak-memory measurement; returns True when the peak was really reset."""
    device = torch.device(device)
    if device.type == "cuda":
        gc.collect()  # models in reference cycles (a model and its GraphStep) would hold memory otherwise
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        return True
    release_free_memory()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # 5 = reset the resident-set high-water mark
        return True
    except OSError:
        return False


def current_memory_mb(device="cpu"):
    """Memory in use now: allocated tensors on CUDA, resident set size on the CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.memory_allocated(device) / 2 ** 20
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else float("nan")


def peak_memory_mb(device="cpu"):
    """High-water mark since the last reset_peak_memory (CUDA allocator or process RSS)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    kb = _status_kb("VmHWM")
    if kb is None:  # ru_maxrss is in KiB on Linux, bytes on macOS
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform == "darwin" else 1)
    return kb / 1024
