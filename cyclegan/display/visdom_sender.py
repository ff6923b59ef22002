"""Send images, plots and text to a visdom server from a background thread.

Connection problems never reach the training loop: the first failure prints one warning that
says how to start the server, then the sender retries at most once per `retry_interval` seconds
and keeps only the newest item per window while it waits. Requests use short timeouts.
"""
import logging
import sys
import time
import warnings

from cyclegan.display.worker import LatestJobWorker


def start_hint(port):
    return (f"start it with `cyclegan-visdom --port {port}` (or `bash scripts/start_visdom.sh "
            f"--port {port}`), or pass --display_id 0 to turn the display off")


class VisdomSender(LatestJobWorker):
    """Owns the visdom client; jobs are callables taking the client."""

    def __init__(self, server="http://localhost", port=8097, env="main", retry_interval=60.0,
                 timeout=(2.0, 10.0), warn=None, min_interval=2.0):
        self.server, self.port, self.env = server, int(port), env
        self.retry_interval = float(retry_interval)
        self.timeout = timeout
        self.connected = False
        self.down = False  # True after a failed attempt, until a connection works again
        self.attempts = 0
        self.warnings = 0
        self._next_try = 0.0
        self._client = None
        self._warn = warn or (lambda msg: print(msg, file=sys.stderr, flush=True))
        super().__init__(name="visdom-sender", on_error=self._job_failed, min_interval=min_interval)

    # -- connection -------------------------------------------------------------------------
    def _connect(self):
        from visdom import Visdom

        timeout = self.timeout

        class _Client(Visdom):
            # visdom's own POST has no timeout; a stalled server would stall this thread forever
            def _handle_post(self, url, data=None):
                r = self.session.post(url, data=data if data is not None else {}, timeout=timeout)
                r.raise_for_status()
                return r.text

        logging.getLogger("visdom").setLevel(logging.ERROR)
        # visdom 0.2.4 calls the deprecated logger.warn() when the incoming socket is off
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="visdom")
        client = _Client(server=self.server, port=self.port, env=self.env, raise_exceptions=True,
                         use_incoming_socket=False)
        if client.win_exists("__cyclegan_probe__") is None:
            raise ConnectionError("no answer from the visdom server")
        return client

    def ready(self):
        if self.connected:
            return True
        now = time.monotonic()
        if now < self._next_try:
            return False
        self.attempts += 1
        try:
            self._client = self._connect()
        except Exception as exc:
            self._went_down(exc)
            return False
        self.connected, self.down = True, False
        return True

    def _went_down(self, exc):
        self.connected, self.down = False, True
        self._next_try = time.monotonic() + self.retry_interval
        if self.warnings == 0 and isinstance(exc, ImportError):
            self.warnings += 1
            self._warn("warning: the live display needs the visdom package (`pip install visdom`); "
                       "training goes on without it. Pass --display_id 0 to silence this.")
        elif self.warnings == 0:
            self.warnings += 1
            self._warn(f"warning: cannot reach the visdom server at {self.server}:{self.port} "
                       f"({type(exc).__name__}); training goes on without the live display. "
                       f"To watch it, {start_hint(self.port)}. Retrying at most every "
                       f"{self.retry_interval:.0f}s.")

    def can_progress(self):
        return not self.down

    def wait_time(self):
        return max(0.05, min(1.0, self._next_try - time.monotonic()))

    def _job_failed(self, key, exc):
        import requests

        if isinstance(exc, (ConnectionError, requests.RequestException, OSError)):
            self._went_down(exc)
        elif self.warnings < 2:  # a bug in a display job: say so once, never stop training
            self.warnings += 1
            self._warn(f"warning: visdom update '{key}' failed: {type(exc).__name__}: {exc}")

    # -- jobs -------------------------------------------------------------------------------
    def send(self, key, fn):
        """Queue fn(client) for window `key`; a newer item for the same window replaces it."""
        def job():
            if not self.connected or self._client is None:
                raise ConnectionError("not connected")
            fn(self._client)
        return self.submit(key, job)

    def stop(self, timeout=5.0):
        if self.down:
            with self._cond:
                self._pending.clear()
        return super().stop(timeout)
