"""Where the style-transfer backbones get their weights: the torch cache, a file, or 'random'.

Nothing here touches the network: ImageNet weights are looked up in torchvision's cache
(`torch.hub.get_dir()/checkpoints/<torchvision file name>`, e.g. vgg19-dcbb9e9d.pth), so a
machine without internet fails at once with a message saying how to get the file, instead of
hanging on a download. Random weights are only ever used when asked for by name, with a warning.
Every file is read with torch.load(weights_only=True) through cyclegan.io.safe_load.
"""
import os
import warnings
from pathlib import Path

import torch
from torchvision import models as tvm

from cyclegan.errors import UserError
from cyclegan.io import CheckpointError, safe_load


class WeightsError(UserError, RuntimeError):
    """No usable weights: the message says what was looked for and how to get it."""


# torchvision's published ImageNet weights, preferred first.
_ENUMS = {
    "vgg19": [tvm.VGG19_Weights.IMAGENET1K_V1],
    "vgg16": [tvm.VGG16_Weights.IMAGENET1K_V1],
    "resnet50": [tvm.ResNet50_Weights.IMAGENET1K_V2, tvm.ResNet50_Weights.IMAGENET1K_V1],
    "inception_v3": [tvm.Inception_V3_Weights.IMAGENET1K_V1],
}


def imagenet_urls(backbone):
    """Download addresses of torchvision's ImageNet weights for `backbone`."""
    if backbone not in _ENUMS:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {', '.join(_ENUMS)}")
    return [w.url for w in _ENUMS[backbone]]


def cache_dir():
    """torchvision's download cache (moves with $TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def cached_weights_path(backbone):
    """The cached ImageNet file for `backbone`, or None when none is there."""
    for url in imagenet_urls(backbone):
        path = cache_dir() / url.rsplit("/", 1)[1]
        if path.is_file():
            return path
    return None


def missing_weights_message(backbone):
    url = imagenet_urls(backbone)[0]
    target = cache_dir() / url.rsplit("/", 1)[1]
    return (
        f"No ImageNet weights for {backbone}: {target} does not exist, and this program never downloads.\n"
        f"To get them, on a machine with internet either run\n"
        f"    python -c \"import torchvision; torchvision.models.{backbone}(weights='DEFAULT')\"\n"
        f"(which fills that machine's torch cache) or download {url}\n"
        f"then copy the file to {target} here (or set $TORCH_HOME), or pass it directly with "
        f"--weights /path/to/{target.name} (weights=PATH in Python).\n"
        f"For tests and benchmarks only, --weights random uses untrained weights.")


def _unwrap(obj, source):
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj or not all(torch.is_tensor(v) for v in obj.values()):
        raise WeightsError(f"{source}: not a state dict of tensors (expected a torchvision weights file)")
    return obj


def resolve_weights(backbone, weights=None):
    """(state_dict or None for random, description of the source).

    weights: None / 'imagenet' -> torchvision's cached ImageNet file, else WeightsError;
             'random' -> None, with a warning; anything else -> a local file path.
    """
    if weights is None or str(weights).lower() in ("", "imagenet", "default"):
        path = cached_weights_path(backbone)
        if path is None:
            raise WeightsError(missing_weights_message(backbone))
        weights = path
    elif str(weights).lower() == "random":
        warnings.warn(f"{backbone}: using RANDOM, untrained weights (--weights random); the features mean "
                      f"nothing, so results are only good for tests and benchmarks", UserWarning, stacklevel=2)
        return None, "random weights"
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise WeightsError(f"--weights {path}: no such file. Pass an existing torchvision {backbone} weights "
                           f"file, or leave --weights out to use the torch cache.\n"
                           + missing_weights_message(backbone))
    try:
        return _unwrap(safe_load(path), path), path
    except CheckpointError as e:
        raise WeightsError(str(e)) from None
