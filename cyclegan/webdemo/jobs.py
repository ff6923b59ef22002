"""The demo's job queue: at most `workers` jobs run at once and at most `max_queue` wait, each waiting job knows
its place in the line, and a job is cancelled while it waits (taken out) or while it runs (its next progress
step raises Cancelled). Finished jobs are kept for the page to read, the oldest forgotten past `keep`
(`on_forget` deletes their files). Plain threads, no torch: the logic is tested on its own.

    queue = JobQueue(workers=1, max_queue=8)
    job = queue.submit(Job(work))       # work(job) does it, calling job.begin(label, steps) and job.step()
    queue.position(job)                 # 1, 2, ... while waiting; 0 once it runs
"""
import collections
import math
import statistics
import threading
import time
import uuid

from ..errors import UserError
from .errors import Busy

FINISHED = ("done", "failed", "cancelled")


class Cancelled(Exception):
    """Raised inside a running job at its next step once it has been cancelled."""


class Job:
    """One request's work and what the page reads of it: status, progress, results (dicts) and an error."""

    def __init__(self, work=None, tasks=1, folder=None, meta=None):
        self.id = uuid.uuid4().hex
        self.work, self.folder, self.meta = work, folder, dict(meta or {})
        self.status, self.error = "queued", None
        self.results = []
        self.files = {}  # result file name -> path: the only files its URLs can name
        self.progress = {"task": 0, "tasks": tasks, "label": "", "step": 0, "steps": 0}
        self.created, self.started, self.finished = time.time(), None, None
        self.cancel_event, self.done = threading.Event(), threading.Event()
        self._lock = threading.Lock()

    # ---- called by the work, in the worker thread
    def check(self):
        if self.cancel_event.is_set():
            raise Cancelled()

    def begin(self, label, steps=1):
        """Start the next task (`steps` progress steps long)."""
        with self._lock:
            p = self.progress
            p.update(task=p["task"] + 1, label=label, step=0, steps=max(1, int(steps)))
        self.check()

    def step(self, n=1):
        with self._lock:
            self.progress["step"] = min(self.progress["steps"], self.progress["step"] + n)
        self.check()

    def add(self, result, path=None):
        """Record a result dict; `path`: its file, served under result["file"]."""
        with self._lock:
            if path is not None:
                self.files[result["file"]] = path
            self.results.append(result)

    # ---- read by the server
    def fraction(self):
        """Overall progress in [0, 1]: finished tasks plus the share of the current one."""
        p = self.progress
        if self.status == "done":
            return 1.0
        if not p["task"]:
            return 0.0
        return min(1.0, (p["task"] - 1 + p["step"] / p["steps"]) / max(1, p["tasks"]))

    def snapshot(self, position=0):
        with self._lock:
            return {"id": self.id, "status": self.status, "position": position, "error": self.error, **self.meta,
                    "progress": {**self.progress, "fraction": round(self.fraction(), 4)},
                    "results": [dict(r) for r in self.results],
                    "seconds": round((self.finished or time.time()) - (self.started or time.time()), 3)}


class JobQueue:
    """Worker threads running submitted jobs in order (see the module docstring)."""

    def __init__(self, workers=1, max_queue=8, keep=32, on_forget=None, log=print):
        self.workers, self.max_queue, self.keep = max(1, int(workers)), max(0, int(max_queue)), max(1, int(keep))
        self.on_forget, self.log = on_forget, log
        self._cond = threading.Condition()
        self._waiting = collections.deque()
        self._jobs = collections.OrderedDict()  # id -> job, oldest first
        self._running = set()
        self._threads, self._closing = [], False
        self._durations = collections.deque(maxlen=16)  # seconds of recent finished jobs, for Retry-After

    def start(self):
        for i in range(self.workers):
            t = threading.Thread(target=self._worker, name=f"demo-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def submit(self, job):
        with self._cond:
            if self._closing:
                raise Busy("the demo is shutting down", retry_after=30)
            if len(self._waiting) >= self.max_queue + max(0, self.workers - len(self._running)):  # idle workers
                wait = self._retry_after()
                raise Busy(f"the queue is full ({len(self._running)} running, {len(self._waiting)} waiting; the limit "
                           f"is --max_queue {self.max_queue}); try again in about {wait} s", retry_after=wait)
            self._waiting.append(job)
            self._jobs[job.id] = job
            self._cond.notify()
        return job

    def get(self, job_id):
        with self._cond:
            return self._jobs.get(str(job_id))

    def position(self, job):
        """1 + the number of jobs ahead of it while it waits; 0 once it runs or has finished."""
        with self._cond:
            try:
                return self._waiting.index(job) + 1
            except ValueError:
                return 0

    def counts(self):
        with self._cond:
            return {"running": len(self._running), "waiting": len(self._waiting), "workers": self.workers,
                    "max_queue": self.max_queue}

    def cancel(self, job):
        job.cancel_event.set()
        with self._cond:
            if job in self._waiting:
                self._waiting.remove(job)
                self._finish(job, "cancelled")

    def forget(self, job):
        """Drop a finished job now (the API's one-shot jobs), deleting its files through on_forget."""
        with self._cond:
            if self._jobs.pop(job.id, None) is not None and self.on_forget:
                self.on_forget(job)

    def close(self, timeout=5.0):
        """Cancel every job, stop the workers and wait up to `timeout` s for the running ones to stop."""
        with self._cond:
            self._closing = True
            for job in list(self._waiting) + list(self._running):
                job.cancel_event.set()
            while self._waiting:
                self._finish(self._waiting.popleft(), "cancelled")
            self._cond.notify_all()
        end = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, end - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    # ---- internals
    def _retry_after(self):
        """Seconds until a running job is likely to finish (which frees a place in the line): the median of recent
        job times less the time the oldest running job has run; 5 s before any job has finished."""
        typical = statistics.median(self._durations) if self._durations else 5.0
        ran = max((time.time() - j.started for j in self._running if j.started), default=0.0)
        return max(1, math.ceil(typical - ran))

    def _finish(self, job, status, error=None):
        job.status, job.error, job.finished = status, error, time.time()
        job.done.set()
        finished = [j for j in self._jobs.values() if j.status in FINISHED]
        for old in finished[:max(0, len(finished) - self.keep)]:
            del self._jobs[old.id]
            if self.on_forget:
                self.on_forget(old)

    def _worker(self):
        while True:
            with self._cond:
                while not self._waiting and not self._closing:
                    self._cond.wait()
                if self._closing:
                    return
                job = self._waiting.popleft()
                self._running.add(job)
                job.status, job.started = "running", time.time()
            status, error = "done", None
            try:
                job.work(job)
            except Cancelled:
                status = "cancelled"
            except UserError as e:
                status, error = "failed", str(e)
            except Exception as e:  # a bug, not a bad request: the page gets one line, the log the details
                import traceback
                self.log(f"job {job.id} failed:\n{traceback.format_exc()}")
                status, error = "failed", f"internal error ({type(e).__name__}: {e}); the server log has the details"
            if job.cancel_event.is_set() and status == "done":
                status = "cancelled"
            with self._cond:
                self._running.discard(job)
                self._durations.append(time.time() - job.started)
                self._finish(job, status, error)
