"""Full-state checkpoints: everything needed to resume a run exactly, whatever instant it was stopped at.

`{label}_state.pth` holds model.state_dict() (nets, optimisers, schedulers, image pools, GradScalers), the
RNG states, the counters and the options. The official `{label}_net_X.pth` weight files are written
too, so official tools still read them. All writes are atomic; all reads are weights_only; full states carry
checksums of their tensors that loading verifies.

A save writes the full state first, then the weight files, then the copies under further labels (state first
again). So a save stopped at any instant leaves either no new state (the previous one is the newest) or a
complete state whose weight files or copies may be missing or older: `resume` loads the newest complete state
(by its counters) and `finish_interrupted_save` writes what the save did not, from that very state. A disk
that refuses a save (full, quota, read-only) stops training with one line (`SaveError`).
"""
import errno
import os
import random
import shutil

import numpy as np
import torch

from ..errors import MissingFileError, UserError
from ..io import CheckpointError, DiskError, atomic_copy, load_checked, safe_load, save_checked
from .layout import RunFolder


class SaveError(UserError, RuntimeError):
    """A save the disk refused: the message names the cause and the folder, the last good checkpoint (intact)
    and the space a save needs."""


def rng_state():
    state = {"python": _py_state_to_tensor(random.getstate()), "numpy": _np_state(),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    random.setstate(_tensor_to_py_state(state["python"]))
    keys, pos, has_gauss, cached = state["numpy"]["keys"], state["numpy"]["pos"], state["numpy"]["has_gauss"], \
        state["numpy"]["cached_gaussian"]
    np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), int(pos), int(has_gauss), float(cached)))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# weights_only loading accepts tensors and plain containers, so the RNG states are stored that way.
def _py_state_to_tensor(st):
    version, internal, gauss = st
    return {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss": gauss}


def _tensor_to_py_state(d):
    return d["version"], tuple(int(x) for x in d["internal"].tolist()), d["gauss"]


def _np_state():
    _, keys, pos, has_gauss, cached = np.random.get_state()
    return {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached)}


def state_file(save_dir, label):
    return RunFolder(save_dir).state(label)


def net_files(save_dir, label, model):
    return [RunFolder(save_dir).net(label, name) for name, _ in model.saved_nets()]


def save_state(model, labels, counters, opt_dict):
    """Write the full state and the official weight files under each label (e.g. [5, 'latest']): serialised
    once for the first label, then copied to the others. Raises SaveError when the disk refuses it."""
    save_dir = model.save_dir
    state = {**model.state_dict(), "rng": rng_state(), "counters": dict(counters), "options": opt_dict}
    need = save_size(model, state) * len(labels)
    free = shutil.disk_usage(save_dir).free
    if free < need:  # checked first: no file of this save is written
        raise SaveError(_refused(save_dir, counters, f"only {_mb(free)} is free there", need))
    try:
        _write_labels(model, labels, state)
    except DiskError as e:
        raise SaveError(_refused(save_dir, counters, f"{e.reason}, writing {os.path.basename(e.path)}", need,
                                 space=e.errno in (errno.ENOSPC, errno.EDQUOT))) from None


def _write_labels(model, labels, state):
    first, *others = labels
    save_checked(state, state_file(model.save_dir, first))  # checksummed, verified on load
    model.save_networks(first)
    for label in others:
        atomic_copy(state_file(model.save_dir, first), state_file(model.save_dir, label))
        for src, dst in zip(net_files(model.save_dir, first, model), net_files(model.save_dir, label, model)):
            atomic_copy(src, dst)


def _nbytes(obj):
    if torch.is_tensor(obj):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(_nbytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(v) for v in obj)
    return 0


def save_size(model, state=None):
    """Bytes one label of a save writes: the full state (`state`, else the model's) and the weight files
    (tensor bytes, plus a margin for the archives' own records). Counted from the tensors' sizes: nothing is
    copied off the device for it unless `state` is not given."""
    nets = sum(_nbytes(net.state_dict()) for _, net in model.saved_nets())
    return int((_nbytes(state if state is not None else model.state_dict()) + nets) * 1.02) + 256 * 1024


def _mb(n):
    return f"{n / 2 ** 20:.1f} MB"


def describe_progress(counters):
    """How far a full state is, in words: 'epoch 2 done', 'epoch 3, 40 batches in' (CycleGAN, CUT) or
    'iteration 500' (fast NST, which counts iterations only)."""
    if "epoch" not in counters:
        return f"iteration {counters.get('iteration', 0)}"
    if not counters.get("batches_done"):
        return f"epoch {counters['epoch'] - 1} done"
    return f"epoch {counters['epoch']}, {counters['batches_done']} batches in"


def _refused(save_dir, counters, cause, need, space=True):
    what = describe_progress(counters).replace(" done", "").replace(" batches in", " batches")
    newest = newest_state(save_dir)
    if newest:
        path, c = newest
        seen = f", {c['total_iters']} images seen" if "total_iters" in c else ""
        good = f"{os.path.basename(path)} ({describe_progress(c)}{seen}) is intact"
    else:
        good = "no earlier checkpoint exists (the run starts from the beginning when resumed)"
    return (f"could not save the checkpoint of {what} in {save_dir}: {cause}. Training stopped; no partial file is "
            f"left behind and {good}. A save needs about {_mb(need)} free there "
            f"({_mb(shutil.disk_usage(save_dir).free)} free now). {'Free some space' if space else 'Make it writable'}, "
            f"then run the same command with --continue_train.")


def free_space_warning(model, labels=2):
    """A warning line when the run folder has less free space than a save needs (None when it has enough)."""
    need, free = save_size(model) * labels, shutil.disk_usage(model.save_dir).free
    if free >= need:
        return None
    return (f"warning: {model.save_dir} has {_mb(free)} free, but a save needs about {_mb(need)}; training will "
            f"stop with a clear message at the first save that does not fit")


def load_state(path, model):
    """Restore everything saved by save_state into `model`; returns the counters dict."""
    state = load_checked(path, map_location="cpu")
    if not isinstance(state, dict) or "nets" not in state or "counters" not in state:
        raise CheckpointError(f"{path}: not a full-state checkpoint (no nets/counters inside)")
    model.load_state_dict(state)
    set_rng_state(state["rng"])
    return state["counters"]


def read_counters(path):
    """The counters of a full state, read through a memory map (None when it cannot be read; resume reports that
    file properly)."""
    return _counters_or_error(path)[0]


def _counters_or_error(path):
    try:
        return safe_load(path, mmap=True)["counters"], None
    except (KeyError, TypeError):
        return None, f"{path}: not a full-state checkpoint (no counters inside)"
    except CheckpointError as e:
        return None, str(e)


def _progress(counters):
    """A sortable measure of how far a state is (fast NST counts iterations only)."""
    return (counters.get("total_iters", counters.get("iteration", 0)), counters.get("epoch", 0),
            counters.get("batches_done", 0))


def candidates(save_dir, report=False):
    """Full-state files, newest first by their counters (images seen, epoch, batches), so a copy whose mtime
    changed does not mislead; `latest` before a numbered file of the same progress; unreadable ones last
    (`report`: each named in a warning)."""
    found = []
    for path in RunFolder(save_dir).states():
        counters, error = _counters_or_error(path)
        if error and report:
            print(f"warning: {error}; it is skipped, the newest readable checkpoint is used", flush=True)
        key = (1, *_progress(counters)) if counters else (0, 0, 0, 0)
        found.append((key, label_of(path) == "latest", os.path.getmtime(path), path))
    return [path for *_, path in sorted(found, reverse=True)]


def newest_state(save_dir):
    """(path, counters) of the newest readable full state, or None."""
    for path in candidates(save_dir):
        counters = read_counters(path)
        if counters:
            return path, counters
    return None


def wanted_state(save_dir, opt):
    """The full state a --continue_train run asks for: --resume_from, else {--epoch}_state.pth when it exists;
    None means the newest readable one (see resume)."""
    wanted = opt.resume_from
    if not wanted and opt.epoch != "latest":
        path = state_file(save_dir, opt.epoch)
        wanted = path if os.path.isfile(path) else None
    return wanted


def resume(model, save_dir, resume_from=None):
    """Load the newest readable full state (or `resume_from`); a broken file is reported and skipped.

    Returns (counters, path) or (None, None) when no full-state checkpoint exists.
    """
    paths = [resume_from] if resume_from else candidates(save_dir, report=True)
    errors = []
    for path in paths:
        try:
            return load_state(path, model), path
        except CheckpointError as e:
            if resume_from:
                raise
            errors.append(str(e))
            print(f"warning: {e}; trying an older checkpoint")
    if errors:
        raise CheckpointError("no usable full-state checkpoint in " + save_dir + ": " + " | ".join(errors))
    return None, None


def resume_required(model, save_dir, log=print):
    """--continue_train of a one-net run (distillation, fast NST): the counters of its newest full state, or an
    error saying there is none."""
    counters, path = resume(model, save_dir)
    if counters is None:
        raise MissingFileError(f"--continue_train: no checkpoint in {save_dir} to resume from")
    log(f"resumed from {path} at iteration {counters['iteration']}")
    return counters


def label_of(path):
    return RunFolder.parse(path)[0]


def finish_interrupted_save(model, path, counters, opt_dict):
    """After resuming from `path`, write what the save that made it did not finish: its weight files, and for an
    end-of-epoch save the `latest` copies. The model holds exactly the saved state (RNG included), so what is
    written is what the save would have written. Returns the labels rewritten ([] when the save was complete)."""
    label = label_of(path)
    labels = [label] + (["latest"] if label.isdigit() else [])
    if all(_complete(model, l, counters) for l in labels):
        return []
    save_state(model, labels, counters, opt_dict)
    return labels


def _complete(model, label, counters):
    """Whether `label` holds this progress's state and weight files no older than it (a stopped save leaves them
    missing or from an earlier save)."""
    state = state_file(model.save_dir, label)
    saved = read_counters(state) if os.path.isfile(state) else None
    if not saved or _progress(saved) != _progress(counters):
        return False
    written = os.path.getmtime(state)
    return all(os.path.isfile(p) and os.path.getmtime(p) >= written for p in net_files(model.save_dir, label, model))


class OneNetRun:
    """One network and its optimiser with the model surface save_state/resume use (nets, saved_nets, state_dict,
    load_state_dict, save_networks): the fast-NST transformer ("T") and the distilled student ("G"). `extra`:
    {name: (module, optimiser or None)} kept in the full state only (the distillation's feature maps and
    discriminator), so a resume restores them too while the run's weight file stays the one network."""

    def __init__(self, save_dir, name, net, optimizer, extra=None):
        self.save_dir, self.name, self.net, self.optimizer = save_dir, name, net, optimizer
        self.extra = dict(extra or {})

    def nets(self):
        return [(self.name, self.net)]

    saved_nets = nets  # the weight files a save writes (no averaged copies)

    def _all(self):
        return {self.name: (self.net, self.optimizer), **self.extra}

    def state_dict(self):
        parts = self._all()
        return {"nets": {k: {n: v.detach().cpu() for n, v in m.state_dict().items()} for k, (m, _) in parts.items()},
                "optimizers": {k: o.state_dict() for k, (_, o) in parts.items() if o is not None}}

    def load_state_dict(self, state):
        for k, (m, o) in self._all().items():
            if k not in state["nets"]:
                raise KeyError(f"the checkpoint holds no {k!r} (it was saved by a run without it)")
            m.load_state_dict(state["nets"][k])
            if o is not None:
                o.load_state_dict(state["optimizers"][k])

    def save_networks(self, label):
        RunFolder(self.save_dir).write_weights(label, {self.name: self.net.state_dict()})
