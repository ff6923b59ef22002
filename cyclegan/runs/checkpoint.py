"""Full-state checkpoints: everything needed to resume a run exactly.

`{label}_state.pth` holds model.state_dict() (nets, optimisers, schedulers, image pools, GradScalers), the
RNG states, the counters and the options. The official `{label}_net_X.pth` weight files are written
too, so official tools still read them. All writes are atomic; all reads are weights_only; full states carry
checksums of their tensors that loading verifies.
"""
import glob
import os
import random

import numpy as np
import torch

from ..io import CheckpointError, atomic_copy, load_checked, save_checked


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


def save_state(model, labels, counters, opt_dict):
    """Write the official weight files and the full state under each label (e.g. ['latest', 5]):
    serialised once for the first label, then copied to the others."""
    first, *others = labels
    model.save_networks(first)
    state = {**model.state_dict(), "rng": rng_state(), "counters": dict(counters), "options": opt_dict}
    save_checked(state, os.path.join(model.save_dir, f"{first}_state.pth"))  # checksummed, verified on load
    for label in others:
        for name, _ in model.saved_nets():
            atomic_copy(os.path.join(model.save_dir, f"{first}_net_{name}.pth"),
                        os.path.join(model.save_dir, f"{label}_net_{name}.pth"))
        atomic_copy(os.path.join(model.save_dir, f"{first}_state.pth"),
                    os.path.join(model.save_dir, f"{label}_state.pth"))


def load_state(path, model):
    """Restore everything saved by save_state into `model`; returns the counters dict."""
    state = load_checked(path, map_location="cpu")
    if not isinstance(state, dict) or "nets" not in state or "counters" not in state:
        raise CheckpointError(f"{path}: not a full-state checkpoint (no nets/counters inside)")
    model.load_state_dict(state)
    set_rng_state(state["rng"])
    return state["counters"]


def candidates(save_dir):
    """Full-state files, newest first: latest, then numbered epochs and iterations by modification time."""
    files = glob.glob(os.path.join(save_dir, "*_state.pth"))
    return sorted(files, key=lambda p: (os.path.basename(p) != "latest_state.pth", -os.path.getmtime(p)))


def wanted_state(save_dir, opt):
    """The full state a --continue_train run asks for: --resume_from, else {--epoch}_state.pth when it exists;
    None means the newest readable one (see resume)."""
    wanted = getattr(opt, "resume_from", None)
    if not wanted and opt.epoch != "latest":
        path = os.path.join(save_dir, f"{opt.epoch}_state.pth")
        wanted = path if os.path.isfile(path) else None
    return wanted


def resume(model, save_dir, resume_from=None):
    """Load the newest readable full state (or `resume_from`); a broken file is reported and skipped.

    Returns (counters, path) or (None, None) when no full-state checkpoint exists.
    """
    paths = [resume_from] if resume_from else candidates(save_dir)
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
