"""Safe, atomic reading and writing of checkpoints, weight files and every other output file.

Every load goes through `safe_load` (torch.load with weights_only=True), so a file that
would need code execution to unpickle is refused. Every save (checkpoints, options, JSON, CSV,
HTML, images) goes through the one writer `_write_atomically`: write a temporary file in the same
folder, fsync, then rename over the target, so a crash or a full disk never leaves a half-written
file in place. Full training states are saved with `save_checked`, which stores a checksum of
every tensor that `load_checked` verifies.
"""
import errno
import hashlib
import json
import os
import pickle
import shutil
import tempfile
import zipfile

import torch

from .errors import UserError


class CheckpointError(UserError, RuntimeError):
    """A checkpoint or weights file that cannot be used; the message names the file."""


# The faults of the disk itself (not of the data): the reason a person is told for each errno.
DISK_FAULTS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
               errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
               errno.EPERM: "permission denied"}


class DiskError(CheckpointError):
    """A write refused by the disk (full, over quota, read-only, no permission); nothing was written and the
    previous file is intact. `reason` is the person's words, `folder` where space or access is missing."""

    def __init__(self, path, folder, error):
        self.path, self.folder, self.errno = path, folder, error.errno
        self.reason = f"{DISK_FAULTS[error.errno]} ({error.strerror or os.strerror(error.errno)})"
        advice = (f"Free some space in {folder} and save again." if error.errno in (errno.ENOSPC, errno.EDQUOT)
                  else f"Make {folder} writable, or write somewhere else.")
        super().__init__(f"{path}: {DISK_FAULTS[error.errno]}, nothing was written and the previous file is "
                         f"intact. {advice}")


def safe_load(path, map_location="cpu", mmap=False):
    """torch.load(path, weights_only=True) with errors that name the file and say what to do; `mmap` maps the
    tensors instead of reading them (a cheap look at a large file's small values)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"{path}: the file is empty (an interrupted save or download?)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as e:
        with open(path, "rb") as f:
            magic = f.read(2)
        looks_like_torch = magic == b"PK" or magic[:1] == b"\x80"  # zip archive or legacy pickle
        if "weights only" not in str(e).lower() or not looks_like_torch:
            raise CheckpointError(f"{path}: not a PyTorch file ({_describe(path)}). Delete it and save or "
                                  f"download it again.") from None
        raise CheckpointError(
            f"{path}: refused, loading it would need arbitrary code execution "
            f"(only plain tensors and containers are accepted): {str(e).splitlines()[0]}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, KeyError, OSError, IndexError, TypeError) as e:
        # arbitrary bytes can break the unpickler in many ways (a text file renamed .pth: IndexError)
        raise CheckpointError(
            f"{path}: not a readable PyTorch file ({_describe(path)}). "
            f"Delete it and save or download it again. ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None


def _describe(path):
    """A short guess at what a file that failed to load is."""
    with open(path, "rb") as f:
        head = f.read(256)
    low = head.lstrip().lower()
    if low.startswith((b"<!doctype", b"<html", b"<head", b"<?xml")):
        return "it is an HTML page, e.g. a server's error page"
    if head[:2] == b"PK" or head[:1] == b"\x80":
        return "corrupt or truncated"
    return "unknown content, not a PyTorch zip or pickle"


def load_state_dict_file(path, map_location="cpu"):
    """Load a file that must hold a flat state dict of tensors (official CycleGAN `*_net_X.pth`)."""
    sd = safe_load(path, map_location)
    if not isinstance(sd, dict) or not sd or not all(torch.is_tensor(v) for v in sd.values()):
        raise CheckpointError(f"{path}: not a state dict (expected a mapping of parameter names to tensors)")
    return sd


class _WriteRecorder:
    """A file's write() that remembers the OSError it raised: torch.save reports a failed write (a full disk)
    only as RuntimeError("unexpected pos ..."), which would hide the cause."""

    def __init__(self, f):
        self.f, self.error = f, None

    def write(self, data):
        try:
            return self.f.write(data)
        except OSError as e:
            self.error = e
            raise

    def flush(self):
        return self.f.flush()


def atomic_save(obj, path):
    """torch.save to a temp file beside `path`, fsync, rename; the old file survives any failure."""
    def write(f):
        recorder = _WriteRecorder(f)
        try:
            torch.save(obj, recorder)
        except RuntimeError:
            if recorder.error is not None:
                raise recorder.error from None
            raise
    _write_atomically(path, write)


def atomic_copy(src, dst):
    """A second, independent copy of a finished file, written the same safe way (no re-serialising)."""
    def copy(out):
        with open(src, "rb") as f:
            shutil.copyfileobj(f, out, 1 << 20)
    _write_atomically(dst, copy)


def atomic_write_bytes(path, data):
    """Write `data` (bytes) to `path` atomically; returns `path`."""
    _write_atomically(path, lambda f: f.write(data))
    return path


def atomic_write_text(path, text):
    """Write `text` as UTF-8 to `path` atomically (newlines kept as given); returns `path`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj, **dump_kwargs):
    """json.dumps(obj, **dump_kwargs) written atomically to `path`; returns `path`."""
    return atomic_write_text(path, json.dumps(obj, **dump_kwargs))


def read_json(path):
    """The JSON value in `path`, or None when there is no such file (a run's saved options, say)."""
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def atomic_write(path, write):
    """write(f) into a temp file beside `path` (f: a seekable binary file), fsync, rename: for writers that
    need a file object, such as a video muxer. The target appears complete or not at all."""
    _write_atomically(path, write)


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()
TEMP_SUFFIX = ".tmp"


def temp_prefix(path):
    """The name every temp file of `path` starts with (`.NAME.`): a process killed mid-write leaves one such
    file behind, and only this writer's files look like that."""
    return "." + os.path.basename(path) + "."


def _write_atomically(path, write):
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=TEMP_SUFFIX, dir=folder)
    except OSError as e:  # a read-only or full disk refuses even the empty temp file
        if e.errno in DISK_FAULTS:
            raise DiskError(path, folder, e) from None
        raise
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; the target gets the mode open() would give
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError) and e.errno in DISK_FAULTS:
            raise DiskError(path, folder, e) from None
        raise


# ---- checksummed full states: a flipped byte inside a tensor still unpickles, so each save records a SHA-256 of
# every tensor (and one of all other values) that loading verifies ----

CHECKSUMS = "checksums"


def leaves(obj, prefix=""):
    """(path, value) for every leaf of nested dicts, lists and tuples, paths like nets/G_A/model.1.weight."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, f"{prefix}{k}/")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from leaves(v, f"{prefix}{i}/")
    else:
        yield prefix.rstrip("/"), obj


def checksums(state):
    """{tensor path: sha256 of dtype, shape and bytes} plus "(values)": one sha256 of every non-tensor leaf."""
    sums, values = {}, hashlib.sha256()
    for path, v in leaves(state):
        if torch.is_tensor(v):
            t = v.detach().cpu().contiguous().reshape(-1)
            h = hashlib.sha256(f"{t.dtype}{tuple(v.shape)}".encode())
            h.update(t.view(torch.uint8).numpy().data if t.numel() else b"")
            sums[path] = h.hexdigest()
        else:
            values.update(f"{path}={v!r};".encode())
    sums["(values)"] = values.hexdigest()
    return sums


def save_checked(state, path):
    """atomic_save of a dict with the checksums of its contents stored inside it."""
    atomic_save({**state, CHECKSUMS: checksums(state)}, path)


def load_checked(path, map_location="cpu"):
    """safe_load, then verify the stored checksums (files saved without them load unverified)."""
    state = safe_load(path, map_location)
    if not isinstance(state, dict) or CHECKSUMS not in state:
        return state
    expected = state.pop(CHECKSUMS)
    got = checksums(state)
    bad = sorted(k for k in expected.keys() | got.keys() if expected.get(k) != got.get(k))
    if bad:
        raise CheckpointError(
            f"{path}: corrupted, the checksum of {', '.join(bad[:3])}"
            f"{f' (and {len(bad) - 3} more)' if len(bad) > 3 else ''} "
            f"does not match what was saved (a disk, copy or memory error). Delete it and use an older checkpoint.")
    return state
