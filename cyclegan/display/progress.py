"""Progress over iterations: a tqdm bar with ETA and the latest losses on a terminal, plain lines otherwise.

Plain lines (logs, CI, a pipe) come at most every `interval` seconds (30 by default) plus one when the bar
closes (the end of an epoch, of a test run, of a Gatys run), so a 200-epoch run writes a few lines per epoch,
not one per image, and never a carriage return.
"""
import sys
import time

from tqdm import tqdm


def _fmt_losses(losses):
    return " ".join(f"{k}={float(v):.3f}" for k, v in losses.items())


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Count items towards `total`; show ETA and the latest losses.

    On a terminal this is a tqdm bar. When `stream` is not a terminal (a log file, CI) it prints a
    plain line at most every `interval` seconds (and, if `every` is given, every `every` items), plus
    one at the end, so logs stay readable and small.
    """

    def __init__(self, total, desc="", unit="it", stream=None, every=None, interval=30.0,
                 force_plain=None, disable=False):
        self.total = int(total) if total else None
        self.desc = desc
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.disable = disable
        self.plain = (not _is_terminal(self.stream)) if force_plain is None else bool(force_plain)
        self.every = every  # None: time-based lines only
        self.interval = interval
        self.n = 0
        self.losses = {}
        self._start = time.monotonic()
        self._last_print_n = 0
        self._last_print_t = self._start
        self._closed = False
        self._bar = None
        if not disable and not self.plain:
            self._bar = tqdm(total=self.total, desc=desc, unit=unit, file=self.stream,
                             dynamic_ncols=True, leave=True)

    def update(self, n=1, **losses):
        """Advance by `n` items; keyword arguments are the latest losses to show."""
        self.n += n
        if losses:
            self.losses = losses
        if self.disable:
            return
        if self._bar is not None:
            if losses:
                self._bar.set_postfix_str(_fmt_losses(losses), refresh=False)
            self._bar.update(n)
            return
        if n <= 0:  # only new losses: shown with the next line
            return
        now = time.monotonic()
        if now - self._last_print_t >= self.interval or (self.every and self.n - self._last_print_n >= self.every):
            self._print_line(now)

    def _print_line(self, now):
        elapsed = now - self._start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        total = f"/{self.total}" if self.total else ""
        pct = f" {100.0 * self.n / self.total:5.1f}%" if self.total else ""
        eta = ""
        if self.total and rate > 0:
            eta = f" eta {_fmt_time(max(0.0, (self.total - self.n) / rate))}"
        losses = f" {_fmt_losses(self.losses)}" if self.losses else ""
        prefix = f"{self.desc}: " if self.desc else ""
        speed = f"{rate:.2f}{self.unit}/s" if rate >= 1 or rate == 0 else f"{1 / rate:.2f}s/{self.unit}"
        line = (f"{prefix}{self.n}{total}{pct} {self.unit} elapsed {_fmt_time(elapsed)}{eta} "
                f"{speed}{losses}")
        print(line, file=self.stream, flush=True)
        self._last_print_n = self.n
        self._last_print_t = now

    def write(self, text):
        """Print a message without breaking the bar."""
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif not self.disable and self.n != self._last_print_n:
            self._print_line(time.monotonic())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _fmt_time(seconds):
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def progress_iter(iterable, total=None, desc="", unit="it", **kwargs):
    """Wrap an iterable like tqdm(); yields its items and counts them."""
    if total is None:
        try:
            total = len(iterable)
        except TypeError:
            total = None
    bar = Progress(total, desc=desc, unit=unit, **kwargs)
    try:
        for item in iterable:
            yield item
            bar.update(1)
    finally:
        bar.close()
