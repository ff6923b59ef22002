"""Plain network weights, without any training class: the module inside a DDP / compile wrapper (`unwrap`) and
loading official-layout weights into a network with errors that name the file (`load_official_state_dict`).
Training (base_model.py, ema.py, recipe.py) and inference (cyclegan/inference) both use these."""
import torch.nn as nn

from ..io import CheckpointError


def unwrap(net):
    """The plain module inside DistributedDataParallel / DataParallel / torch.compile wrappers."""
    while True:
        if isinstance(net, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            net = net.module
        elif hasattr(net, "_orig_mod"):
            net = net._orig_mod
        else:
            return net


def load_official_state_dict(net, state_dict, path="<state dict>"):
    """Load official-layout weights; drop the InstanceNorm running stats that pre-0.4 checkpoints carry."""
    modules = dict(net.named_modules())
    state_dict = dict(state_dict)
    for key in list(state_dict):
        mod_name, _, attr = key.rpartition(".")
        mod = modules.get(mod_name)
        if isinstance(mod, nn.InstanceNorm2d) and attr in ("running_mean", "running_var", "num_batches_tracked") \
                and getattr(mod, attr, None) is None:
            del state_dict[key]
    hint = "Check --netG/--ngf/--norm/--no_dropout (they must match how the weights were trained)."
    expected = set(net.state_dict())
    missing, unexpected = sorted(expected - set(state_dict)), sorted(set(state_dict) - expected)
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: does not fit this network. Missing keys: {missing[:5]}{'...' if len(missing) > 5 else ''}; "
            f"unexpected keys: {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}. {hint}")
    try:
        net.load_state_dict(state_dict)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: tensor shapes do not fit this network ({str(e).splitlines()[-1].strip()}). "
                           f"{hint}") from None
    return net
