"""What the demo offers, found by scanning folders: the models under --checkpoints_dir, the paintings under
--styles_dir, and whether Gatys's VGG weights are there.

Each run folder directly under the checkpoints folder is, by its files (cyclegan.load reads the same names):
  a CycleGAN run      latest_net_G_A.pth and latest_net_G_B.pth: two models, photo2painting and painting2photo
  a CUT run           latest_net_G.pth with latest_net_F.pth (`cyclegan-train --model cut`, or the CUT code's)
  an official model   latest_net_G.pth (scripts/download_cyclegan_model.sh puts NAME_pretrained/ there)
  a fast-NST run      latest_net_T.pth (`cyclegan-fast-nst train`)
A request names a model by its key (the run's folder name, `:direction` for a CycleGAN run); the key is looked
up in what the scan found and never joined to a path, so no request can reach a file the scan did not list.
"""
import os
from dataclasses import dataclass

from ..images import is_image_file
from ..inference import DIRECTIONS
from ..runs.layout import RunFolder
from ..nst.weights import cached_weights_path, missing_weights_message
from .errors import InputError

EPOCH = "latest"
METHODS = ("cyclegan", "fast_nst", "gatys")
METHOD_LABELS = {"cyclegan": "CycleGAN", "fast_nst": "Fast NST", "gatys": "Gatys"}
ARROWS = {"photo2painting": "photo → painting", "painting2photo": "painting → photo"}


@dataclass(frozen=True)
class ModelEntry:
    """One model the page offers: `key` names it in requests, `path` is what cyclegan.load gets."""
    key: str
    name: str
    kind: str  # cyclegan (a run with two generators), cut (G with CUT's F), pretrained (one latest_net_G.pth), fast_nst
    path: str
    direction: str = None

    @property
    def method(self):
        return "fast_nst" if self.kind == "fast_nst" else "cyclegan"

    @property
    def label(self):
        what = {"cyclegan": "", "cut": " (CUT)", "pretrained": " (official generator)", "fast_nst": ""}[self.kind]
        return f"{self.name}{what}" + (f", {ARROWS[self.direction]}" if self.direction else "")

    def files(self):
        """(name, mtime) of its weight files: a changed file reloads the model."""
        found = []
        for f in sorted(os.listdir(self.path)):
            label, net = RunFolder.parse(f)
            if label == EPOCH and net:
                found.append((f, os.stat(os.path.join(self.path, f)).st_mtime_ns))
        return tuple(found)

    def public(self):
        return {"key": self.key, "name": self.name, "kind": self.kind, "method": self.method,
                "direction": self.direction, "label": self.label}


def _has(folder, name):
    return RunFolder(folder).has_net(EPOCH, name)


def discover_models(checkpoints_dir):
    """{key: ModelEntry} of the run folders directly under `checkpoints_dir`, sorted by name ({} when the folder
    does not exist: the page then says where models come from)."""
    found = {}
    if not checkpoints_dir or not os.path.isdir(checkpoints_dir):
        return found
    for d in sorted(os.scandir(checkpoints_dir), key=lambda d: d.name.lower()):
        if d.name.startswith(".") or not d.is_dir():
            continue
        path = os.path.abspath(d.path)
        if os.path.isfile(RunFolder(path).net(EPOCH, "T")):
            found[d.name] = ModelEntry(d.name, d.name, "fast_nst", path)
        elif _has(path, "G_A") and _has(path, "G_B"):
            for direction in DIRECTIONS:
                key = f"{d.name}:{direction}"
                found[key] = ModelEntry(key, d.name, "cyclegan", path, direction)
        elif _has(path, "G"):
            found[d.name] = ModelEntry(d.name, d.name, "cut" if _has(path, "F") else "pretrained", path)
    return found


def lookup_model(models, key):
    """The entry a request names: its key, or a CycleGAN run's bare name (photo2painting); InputError otherwise."""
    key = str(key).strip()
    entry = models.get(key) or models.get(f"{key}:{DIRECTIONS[0]}")
    if entry is None:
        known = ", ".join(models) or "none (train one, or put an official latest_net_G.pth in a folder there)"
        raise InputError(f"unknown model {key!r}: the models found under the checkpoints folder are {known}")
    return entry


def discover_styles(styles_dir):
    """{key: [image paths]} of the paintings under `styles_dir`: each image file alone, and each sub-folder's
    images pooled (Gatys's domain mode). {} when no folder was given."""
    found = {}
    if not styles_dir or not os.path.isdir(styles_dir):
        return found
    for d in sorted(os.scandir(styles_dir), key=lambda d: d.name.lower()):
        if d.name.startswith("."):
            continue
        if d.is_file() and is_image_file(d.name):
            found[d.name] = [os.path.abspath(d.path)]
        elif d.is_dir():
            images = sorted(os.path.abspath(f.path) for f in os.scandir(d.path)
                            if f.is_file() and is_image_file(f.name))
            if images:
                found[f"{d.name}/"] = images
    return found


def lookup_style(styles, key):
    paths = styles.get(str(key))
    if paths is None:
        known = ", ".join(styles) or "none (start the demo with --styles_dir, or upload a painting)"
        raise InputError(f"unknown style {key!r}: the paintings offered are {known}")
    return paths


def vgg_status(weights=None, backbone="vgg19"):
    """(path or None, message): the VGG weights Gatys would use, or why there are none and where to put them."""
    if weights:
        if os.path.isfile(weights):
            return os.fspath(weights), f"VGG weights: {weights}"
        return None, (f"--weights {weights}: no such file. Start the demo with an existing torchvision {backbone} "
                      f"weights file.\n" + missing_weights_message(backbone))
    path = cached_weights_path(backbone)
    if path is not None:
        return str(path), f"VGG weights: {path}"
    return None, missing_weights_message(backbone)
