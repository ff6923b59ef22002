"""Normalisation layers and weight initialisation shared by generators and discriminators."""
import functools

import torch.nn as nn
from torch.nn import init

NORM_TYPES = ("instance", "batch", "sync_batch", "none")
INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal")

def get_norm_layer(norm_type="instance"):
    """Return a constructor for the norm layer: batch | instance | sync_batch | none."""
    if norm_type == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm_type == "sync_batch":
        return functools.partial(nn.SyncBatchNorm, affine=True, track_running_stats=True)
    if norm_type == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if norm_type == "none":
        return lambda num_features: nn.Identity()
    raise ValueError(f"--norm {norm_type!r} is not one of: instance, batch, sync_batch, none")


def uses_bias(norm_layer):
    """The official rule: a conv keeps its bias only before an InstanceNorm2d (which has no affine shift).
    Before batch norm (which adds its own) and with --norm none (officially a function returning an
    Identity) it has none, so official --norm none checkpoints load."""
    func = norm_layer.func if isinstance(norm_layer, functools.partial) else norm_layer
    return func is nn.InstanceNorm2d


def init_weights(net, init_type="normal", init_gain=0.02):
    """Initialise conv/linear weights (normal | xavier | kaiming | orthogonal) and batch-norm scales."""
    def init_func(m):
        name = m.__class__.__name__
        if hasattr(m, "weight") and m.weight is not None and ("Conv" in name or "Linear" in name):
            if init_type == "normal":
                init.normal_(m.weight.data, 0.0, init_gain)
            elif init_type == "xavier":
                init.xavier_normal_(m.weight.data, gain=init_gain)
            elif init_type == "kaiming":
                init.kaiming_normal_(m.weight.data, a=0, mode="fan_in")
            elif init_type == "orthogonal":
                init.orthogonal_(m.weight.data, gain=init_gain)
            else:
                raise ValueError(f"--init_type {init_type!r} is not one of: normal, xavier, kaiming, orthogonal")
            if getattr(m, "bias", None) is not None:
                init.constant_(m.bias.data, 0.0)
        elif "BatchNorm2d" in name or isinstance(m, (nn.BatchNorm2d, nn.SyncBatchNorm)):
            # officially matched by the class name; SyncBatchNorm (the official code converts BatchNorm2d
            # after init) and BatchNorm2d subclasses get the same N(1, gain) scale and zero shift
            init.normal_(m.weight.data, 1.0, init_gain)
            init.constant_(m.bias.data, 0.0)

    net.apply(init_func)
    return net
