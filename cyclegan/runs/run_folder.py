"""One run per folder: a run's name is never silently reused, and one process trains into a folder at a time.

`claim(opt, ctx)` wraps training. On rank 0 it first locks `checkpoints/NAME/train.lock` (a POSIX lock, taken
atomically; the file records pid, host, start time and command), then refuses to start where training would
overwrite saved work: a folder that holds a run, without --continue_train, or a resume whose start epoch
(--epoch_count, or an older state picked with --epoch/--resume_from) lies below saved epochs. --overwrite moves
the old files aside to NAME.old-<timestamp> instead (never deletes). Under torchrun rank 0 broadcasts its verdict,
so every rank stops when rank 0 refuses. The kernel drops the lock with its process (SIGKILL included); the file
left behind is then reported and taken over with a warning.
"""
import contextlib
import errno
import fcntl
import glob
import json
import os
import shutil
import signal
import socket
import sys
import time

import torch.distributed as dist

from ..errors import UserError
from ..io import TEMP_SUFFIX
from . import checkpoint
from .checkpoint import read_counters
from .layout import RunFolder

_HELD = {}  # real path -> RunLock: POSIX locks do not exclude the process that holds them


class RunFolderError(UserError, RuntimeError):
    """Training refused to start in a run folder; the message names it and says how to go on."""


class RunLock:
    """An exclusive lock on `folder` for this process, recorded in folder/train.lock."""

    def __init__(self, folder):
        self.folder = folder
        self.path = RunFolder(folder).lock_file()
        self.fd = None

    def acquire(self):
        os.makedirs(self.folder, exist_ok=True)
        key = os.path.realpath(self.path)
        if key in _HELD:
            raise RunFolderError(f"{self.folder} is already being trained into by this process")
        for _ in range(5):  # retry while a releasing holder unlinks the file we opened
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                holder = _read(fd)
                os.close(fd)
                if e.errno not in (errno.EAGAIN, errno.EACCES):  # not "held": locks unsupported (some network disks)
                    raise RunFolderError(f"{self.path}: cannot be locked ({e.strerror}); this filesystem seems not to "
                                         f"support file locks. Use a --checkpoints_dir on a local disk.") from None
                raise RunFolderError(
                    f"{self.folder} is in use by another training process: {_who(holder)}. Only one process may "
                    f"train into a run folder. Wait for it to finish, stop it"
                    f"{' (kill ' + str(holder.get('pid')) + ')' if holder.get('pid') else ''}, or train under "
                    f"another --name. (lock file: {self.path})") from None
            if _same_file(fd, self.path):
                break
            os.close(fd)
        else:
            raise RunFolderError(f"{self.path}: could not be locked (it keeps being replaced); try again")
        left = _read(fd)
        if left:
            print(f"warning: {self.path} was left by {_who(left)}, which is no longer running (killed or crashed); "
                  f"taking it over", flush=True)
        os.ftruncate(fd, 0)  # the lock file is rewritten in place: replacing it would drop the lock
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                  "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                                  "command": " ".join(sys.argv)}).encode(), 0)
        os.fsync(fd)
        self.fd, _HELD[key] = fd, self
        return self

    def moved(self, folder):
        """The locked folder was renamed to `folder` (by --overwrite)."""
        _HELD.pop(os.path.realpath(self.path), None)
        self.folder, self.path = folder, RunFolder(folder).lock_file()
        _HELD[os.path.realpath(self.path)] = self

    def release(self):
        if self.fd is None:
            return
        _HELD.pop(os.path.realpath(self.path), None)
        try:
            if _same_file(self.fd, self.path):
                os.unlink(self.path)  # while still locked, so nobody locks a file that is about to vanish
        finally:
            os.close(self.fd)
            self.fd = None


@contextlib.contextmanager
def claimed(save_dir, continue_train, what):
    """The run folder of a one-network trainer (fast NST, distillation), locked for the whole run: a second run
    under the name is refused unless it resumes, and a run that fails before writing anything leaves no folder."""
    existed = os.path.isdir(save_dir)
    lock = RunLock(save_dir).acquire()
    try:
        # checked again under the lock: another process may have started this run since the options were parsed
        if not continue_train and os.path.isfile(RunFolder(save_dir).state("latest")):
            raise RunFolderError(f"{save_dir} already holds a {what} run: pass --continue_train to resume it, or "
                                 f"choose another --name (nothing was overwritten)")
        yield
    finally:
        lock.release()
        if not existed and os.path.isdir(save_dir) and not os.listdir(save_dir):
            os.rmdir(save_dir)  # failed before writing anything: leave no empty run folder


def _read(fd):
    try:
        return json.loads(os.pread(fd, 65536, 0).decode() or "{}")
    except ValueError:
        return {"pid": None, "host": "?", "started": "?", "command": "(unreadable lock file)"}


def _who(holder):
    return (f"pid {holder.get('pid')} on host {holder.get('host')}, started {holder.get('started')} "
            f"(command: {holder.get('command')})")


def _same_file(fd, path):
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


# ---- what a folder holds ----

def saved_files(folder):
    """Weight files and full states in `folder` (what makes it hold a run)."""
    return RunFolder(folder).saved_files()


def numbered_epochs(folder):
    """{epoch: [files]} for the end-of-epoch files N_net_X.pth and N_state.pth."""
    return RunFolder(folder).numbered_epochs()


def starts_afresh(folder):
    """Whether a --continue_train run in `folder` starts from the beginning: the folder holds this suite's saved
    options (train_opt.json) but no full state yet, and weight files of one label at most (what a first save
    stopped before its state was written leaves; the resumed run writes them again). Weights of several labels
    without a state are another run's (an official folder) and load as such."""
    run = RunFolder(folder)
    return os.path.isfile(run.options_file()) and not checkpoint.candidates(folder) and len(run.labels()) <= 1


def remove_temp_files(folder):
    """Delete the temp files of writes that a killed process left in `folder` (only the writer's own `.NAME.*.tmp`
    files; called under the run lock, so no other writer is at work); returns their names."""
    left = [p for p in glob.glob(os.path.join(folder, ".*" + TEMP_SUFFIX)) if os.path.isfile(p)]
    for path in left:
        os.remove(path)
    return [os.path.basename(p) for p in left]


def describe_run(folder):
    epochs = numbered_epochs(folder)
    parts = [f"last saved epoch {max(epochs)}"] if epochs else []
    counters = read_counters(RunFolder(folder).state("latest"))
    if counters:
        done = counters["epoch"] - 1
        parts.append(f"latest_state.pth: end of epoch {done}" if not counters.get("batches_done")
                     else f"latest_state.pth: epoch {counters['epoch']}, {counters['batches_done']} batches in")
        parts.append(f"{counters.get('total_iters')} images seen")
    elif not epochs:
        parts.append("weights only: " + ", ".join(os.path.basename(p) for p in saved_files(folder)[:4]))
    return "; ".join(parts)


def start_epoch(folder, opt):
    """(first epoch, label resumed from) of a --continue_train run; (None, None) when it resumes the newest state."""
    explicit = checkpoint.wanted_state(folder, opt)  # the state resume_run will load
    if explicit:
        counters = read_counters(explicit)
        label = RunFolder.parse(explicit)[0]
        return (counters["epoch"], label) if counters else (None, None)
    if checkpoint.candidates(folder) or starts_afresh(folder):
        return None, None
    return opt.epoch_count, opt.epoch  # official weights-only resume: counting restarts at --epoch_count


def later_files(folder, opt):
    """(start, source label, files) for a --continue_train run: the files it would overwrite because they were
    saved at or after its first epoch (numbered epochs >= start; latest_* unless it resumes from them)."""
    start, source = start_epoch(folder, opt)
    if start is None:
        return None, None, []
    files = [p for n, paths in numbered_epochs(folder).items() if n >= start for p in paths]
    if source != "latest":
        files += [p for p in saved_files(folder) if RunFolder.parse(p)[0] == "latest"]
    return start, source, sorted(files)


def _labels(files):
    labels = {RunFolder.parse(p)[0] for p in files}
    epochs = sorted(int(label) for label in labels if label.isdigit())
    names = [str(n) for n in epochs] + (["latest"] if "latest" in labels else [])
    return epochs, ", ".join(names)


def aside_name(folder):
    base = f"{folder.rstrip(os.sep)}.old-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    return path


# ---- the checks ----

def check(opt, lock):
    """Refuse (RunFolderError) or, with --overwrite, move saved work aside. Returns the lock still held."""
    folder = lock.folder
    overwrite = opt.overwrite
    left = remove_temp_files(folder)
    if left:
        print(f"removed {len(left)} temporary file(s) that an interrupted save left in {folder}: {', '.join(left)}",
              flush=True)
    if not opt.continue_train and saved_files(folder):
        if not overwrite:
            raise RunFolderError(
                f"{folder} already holds a run ({describe_run(folder)}). Nothing was changed. To go on, either\n"
                f"  --continue_train   resume that run where it stopped,\n"
                f"  --name OTHER       start a new run under another name, or\n"
                f"  --overwrite        move it aside to {folder.rstrip(os.sep)}.old-<timestamp> and start afresh.")
        aside = aside_name(folder)
        os.rename(folder, aside)
        lock.moved(aside)
        new = RunLock(folder).acquire()
        lock.release()
        print(f"--overwrite: moved the previous run to {aside} (nothing was deleted)", flush=True)
        return new
    if opt.continue_train:
        start, source, files = later_files(folder, opt)
        if files and not overwrite:
            epochs, names = _labels(files)
            if opt.resume_from or os.path.isfile(RunFolder(folder).state(source)):
                how = "Resume from the newest state (drop --epoch / --resume_from)"
            else:  # an official weights-only resume counts epochs from --epoch_count
                how = (f"{'Resume from the latest weights (drop --epoch) with' if 'latest' in names else 'Pass'} "
                       f"--epoch_count {max(epochs + [start - 1]) + 1} to count on after them")
            raise RunFolderError(
                f"{folder}: this run would start at epoch {start}, but the folder holds checkpoints saved later "
                f"({names}), which training would overwrite. Nothing was changed. {how}, use another --name, "
                f"or add --overwrite to move them aside to {folder.rstrip(os.sep)}.old-<timestamp>.")
        if files:
            aside = aside_name(folder)
            os.makedirs(aside)
            for p in files:  # the files training loads from are copied, the others moved
                keep = RunFolder.parse(p)[0] == str(source)
                (shutil.copy2 if keep else os.rename)(p, os.path.join(aside, os.path.basename(p)))
            print(f"--overwrite: moved the checkpoints saved from epoch {start} on ({_labels(files)[1]}) to {aside} "
                  f"(nothing was deleted)", flush=True)
    return lock


@contextlib.contextmanager
def claim(opt, ctx):
    """Lock and check the run folder on rank 0 for the duration of training; all ranks fail if rank 0 refuses."""
    lock, error = None, None
    if ctx.is_main:
        try:
            lock = RunLock(os.path.join(opt.checkpoints_dir, opt.name)).acquire()
            lock = check(opt, lock)
        except (RunFolderError, OSError) as e:
            error = str(e)
            if lock is not None:
                lock.release()
                lock = None
    if ctx.enabled:
        verdict = [error]
        dist.broadcast_object_list(verdict, src=0)
        error = verdict[0]
    if error:
        raise RunFolderError(error if ctx.is_main else f"rank {ctx.rank}: rank 0 refused to start: {error}")
    with _sigterm_exits():
        try:
            yield lock
        finally:
            if lock is not None:
                lock.release()


@contextlib.contextmanager
def _sigterm_exits():
    """Outside the loop's own handler, SIGTERM raises SystemExit so that the lock is released on the way out."""
    def handle(signum, frame):
        raise SystemExit(128 + signum)
    try:
        old = signal.signal(signal.SIGTERM, handle) if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL else None
    except ValueError:  # not the main thread
        old = None
    try:
        yield
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
