"""Fault injection for tests/test_faults.py: run `cyclegan-train` in this process with one fault installed.

    python tests/_faults.py SPEC -- TRAIN ARGS...

SPEC is MODE:NAME:N, acting at the N-th atomic write of a file named NAME (an fnmatch pattern) of the run:
    before   SIGKILL just before the write starts
    inside   SIGKILL once the temp file is written and synced, before it replaces NAME
    after    SIGKILL once NAME is in place
    enospc   the write fails halfway with OSError(ENOSPC), as on a full disk
    erofs    creating the temp file fails with OSError(EROFS), as on a read-only folder
or prune:N (SIGKILL after the N-th full state that pruning removes) or step:N (SIGKILL after the N-th training step,
with no save in progress). Only the test starts this; the library has no hook for it.
"""
import errno
import fnmatch
import os
import signal
import sys


def kill():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class HalfFull:
    """A file whose writes fail with ENOSPC once `room` bytes are in (other attributes are the file's)."""

    def __init__(self, f, room=512):
        self.f, self.room = f, room

    def write(self, data):
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)


def install(spec):
    import cyclegan.io as cio
    import cyclegan.training.loop as loop
    mode, *rest = spec.split(":")
    if mode == "step":
        count = [0]
        base = loop.NanGuard

        class KillingGuard(base):
            def observe(self, *args):
                super().observe(*args)
                count[0] += 1
                if count[0] == int(rest[0]):
                    kill()
        loop.NanGuard = KillingGuard
        return
    if mode == "prune":
        removed, remove = [0], os.remove

        def remove_then_kill(path, *args, **kwargs):
            remove(path, *args, **kwargs)
            if str(path).endswith("_state.pth"):
                removed[0] += 1
                if removed[0] == int(rest[0]):
                    kill()
        os.remove = remove_then_kill
        return
    pattern, nth = rest[0], int(rest[1])
    seen, write_atomically = [0], cio._write_atomically

    def faulty(path, write):
        if not fnmatch.fnmatch(os.path.basename(path), pattern):
            return write_atomically(path, write)
        seen[0] += 1
        if seen[0] != nth:
            return write_atomically(path, write)
        if mode == "before":
            kill()
        if mode == "inside":
            def write_then_kill(f):
                write(f)
                f.flush()
                os.fsync(f.fileno())
                kill()
            return write_atomically(path, write_then_kill)
        if mode == "enospc":
            return write_atomically(path, lambda f: write(HalfFull(f)))
        if mode == "erofs":
            mkstemp = cio.tempfile.mkstemp

            def refuse(*args, **kwargs):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS))
            cio.tempfile.mkstemp = refuse
            try:
                return write_atomically(path, write)
            finally:
                cio.tempfile.mkstemp = mkstemp
        result = write_atomically(path, write)
        kill()  # after
        return result
    cio._write_atomically = faulty


if __name__ == "__main__":
    spec, sep, *train_args = sys.argv[1:]
    assert sep == "--", __doc__
    install(spec)
    from cyclegan.cli.train import main
    sys.exit(main(train_args))
