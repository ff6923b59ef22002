"""A background worker that runs the latest job per key, so slow I/O never blocks the caller.

Submitting a job under a key that is still waiting replaces it (stale items are dropped), so
the queue can never grow without bound however far the worker falls behind. With min_interval,
each key runs at most that often (newer jobs replace the waiting one), which caps the CPU the
display takes from training however often the loop calls it.
"""
import threading
import time
from collections import OrderedDict


class LatestJobWorker:
    """Runs `job()` callables in one daemon thread; at most one pending job per key."""

    def __init__(self, name, on_error=None, min_interval=0.0):
        self.min_interval = float(min_interval)  # per key: newer jobs wait, replacing each other
        self._last_run = {}
        self._draining = False
        self._pending = OrderedDict()
        self._cond = threading.Condition()
        self._stop = False
        self._busy = False
        self._on_error = on_error
        self.dropped = 0
        self.done = 0
        self.cpu_time = 0.0  # CPU seconds this thread spent (jobs and connects): the display's cost
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, key, job):
        """Queue `job` under `key`, replacing a job with that key that has not run yet."""
        with self._cond:
            if self._stop:
                return False
            if key in self._pending:
                self.dropped += 1
                del self._pending[key]
            self._pending[key] = job
            self._cond.notify()
        return True

    def ready(self):
        """Override: False makes the worker keep jobs pending (e.g. while offline)."""
        return True

    def can_progress(self):
        """Override: False tells flush() that waiting is pointless (e.g. the server is down)."""
        return True

    def wait_time(self):
        """Override: how long to sleep while not ready before asking again."""
        return 1.0

    def _pick(self, now):
        """The oldest pending key whose last run is at least min_interval ago, or the wait left."""
        soonest = None
        for key in self._pending:
            due = self._last_run.get(key, -1e18) + self.min_interval
            if self._draining or now >= due:
                return key, 0.0
            soonest = due - now if soonest is None else min(soonest, due - now)
        return None, soonest

    def _run(self):
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._cond.wait()
                if self._stop and not self._pending:
                    return
                self._busy = True  # set under the lock so flush() never sees a gap
            c0 = time.thread_time()
            try:
                ready = self.ready()
            except Exception:
                ready = False
            self.cpu_time += time.thread_time() - c0
            job = key = None
            with self._cond:
                if ready and self._pending:
                    key, wait = self._pick(time.monotonic())
                    if key is not None:
                        job = self._pending.pop(key)
                if job is None:
                    self._busy = False
                    self._cond.notify_all()
                    if not ready and self._stop:
                        self._pending.clear()
                        return
                    self._cond.wait(self.wait_time() if not ready else wait)
                    continue
            c0 = time.thread_time()
            try:
                job()
                self.done += 1
            except Exception as exc:  # a display error must never reach training
                if self._on_error is not None:
                    self._on_error(key, exc)
            finally:
                self.cpu_time += time.thread_time() - c0
                with self._cond:
                    self._last_run[key] = time.monotonic()
                    self._busy = False
                    self._cond.notify_all()

    def flush(self, timeout=10.0):
        """Wait until every pending job ran (or `timeout` seconds passed); True if drained."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                if not self._busy and not self.can_progress():
                    return False
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    def stop(self, timeout=5.0):
        """Run what is pending for up to `timeout` seconds, then stop the thread (never hangs)."""
        with self._cond:
            self._draining = True  # no pacing for the final updates
            self._cond.notify_all()
        self.flush(timeout)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(max(0.1, timeout / 5))
        return not self._thread.is_alive()
