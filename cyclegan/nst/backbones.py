"""Frozen, truncated ImageNet feature extractors for neural style transfer.

`load_extractor("vgg19", layers, ...)` builds a torchvision architecture on the meta device
(no time wasted initialising a classifier that is thrown away), cuts it after the deepest layer
asked for, then fills the kept part with ImageNet weights (see weights.py), a local file, or
random values. Its parameters never require gradients; ImageNet normalisation happens inside,
so callers pass RGB images in [0, 1].

Layer names:
  vgg19 / vgg16  conv1_1 .. conv5_4 (convolution output, before the ReLU), relu1_1 .. relu5_4,
                 pool1 .. pool5
  resnet50       conv1 (stem conv+bn+relu), pool1, layer1 .. layer4 (residual stage outputs)
  inception_v3   torchvision's module names: Conv2d_1a_3x3 .. Conv2d_4a_3x3, maxpool1, maxpool2,
                 Mixed_5b .. Mixed_7c
"""
import torch
from torch import nn
from torchvision import models as tvm

from cyclegan.errors import SettingError
from cyclegan.nst.weights import resolve_weights, WeightsError

BACKBONES = ("vgg19", "vgg16", "resnet50", "inception_v3")
POOLINGS = ("avg", "max")

DEFAULT_LAYERS = {
    "vgg19": (["conv4_2"], ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]),
    "vgg16": (["conv4_2"], ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]),
    # Same spatial strides as the VGG choice: content at 1/8, style from 1/2 down to 1/32.
    "resnet50": (["layer2"], ["conv1", "layer1", "layer2", "layer3", "layer4"]),
    "inception_v3": (["Mixed_5d"], ["Conv2d_2b_3x3", "Conv2d_4a_3x3", "Mixed_5b", "Mixed_6a", "Mixed_6e"]),
}

# Inception's Google weights expect (x - 0.5) / 0.5, which torchvision's transform_input emulates.
_NORMALISATION = {"inception_v3": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))}
_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def _vgg_steps(model):
    """Name VGG's feature modules; each step is (layer name, attribute path of the module)."""
    steps, block, conv = [], 1, 0
    for i, m in enumerate(model.features):
        if isinstance(m, nn.Conv2d):
            conv += 1
            steps.append((f"conv{block}_{conv}", f"features.{i}"))
        elif isinstance(m, nn.ReLU):
            steps.append((f"relu{block}_{conv}", f"features.{i}"))
        elif isinstance(m, nn.MaxPool2d):
            steps.append((f"pool{block}", f"features.{i}"))
            block, conv = block + 1, 0
    return steps


def _resnet_steps(model):
    model.stem = nn.Sequential(model.conv1, model.bn1, model.relu)
    del model.conv1, model.bn1, model.relu
    return [("conv1", "stem"), ("pool1", "maxpool")] + [(f"layer{i}", f"layer{i}") for i in range(1, 5)]


def _inception_steps(model):
    names = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1",
             "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b",
             "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"]
    return [(n, n) for n in names]


def _architecture(name):
    """The full torchvision model on the meta device, and its ordered, named steps."""
    with torch.device("meta"):
        if name == "vgg19":
            model, steps = tvm.vgg19(weights=None), _vgg_steps
        elif name == "vgg16":
            model, steps = tvm.vgg16(weights=None), _vgg_steps
        elif name == "resnet50":
            model, steps = tvm.resnet50(weights=None), _resnet_steps
        elif name == "inception_v3":
            model = tvm.inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=False)
            steps = _inception_steps
        else:
            raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    return model, steps(model)


def available_layers(name):
    """Layer names that `name` accepts, shallow to deep."""
    return [n for n, _ in _architecture(name)[1]]


def _get(root, path):
    for part in path.split("."):
        root = root[int(part)] if part.isdigit() else getattr(root, part)
    return root


def _set(root, path, module):
    parent, _, last = path.rpartition(".")
    parent = _get(root, parent) if parent else root
    if last.isdigit():
        parent[int(last)] = module
    else:
        setattr(parent, last, module)


def _prune(name, model, keep_paths):
    """Delete every top-level module (and VGG feature) that comes after the kept steps."""
    if name.startswith("vgg"):
        deepest = max(int(p.split(".")[1]) for p in keep_paths)
        model.features = model.features[:deepest + 1]
        del model.avgpool, model.classifier
        return
    tops = {p.split(".")[0] for p in keep_paths}
    for child in list(dict(model.named_children())):
        if child not in tops:
            delattr(model, child)


def _random_init(module):
    """He-normal convolutions and identity batch norm, like torchvision's own initialisers."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_parameters()


class FeatureExtractor(nn.Module):
    """Runs a truncated backbone and returns the requested layers' activations as a dict."""

    def __init__(self, name, body, steps, layers):
        super().__init__()
        self.name = name
        self.body = body  # pruned torchvision model: state-dict keys match torchvision's files
        self.layers = list(layers)
        self._steps = [(n, _get(body, p)) for n, p in steps]  # plain list: no double registration
        mean, std = _NORMALISATION.get(name, _IMAGENET)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()
        self.channels_last = False

    def to(self, *args, **kwargs):
        out = super().to(*args, **kwargs)
        # oneDNN convolutions on the CPU run markedly faster on NHWC tensors (and then positions()
        # in losses.py is a free view); keep CUDA on the default layout.
        self.channels_last = self.mean.device.type == "cpu"
        if self.channels_last:
            self.body.to(memory_format=torch.channels_last)
        return out

    def train(self, mode=True):
        return super().train(False)  # batch norm must keep its running statistics

    @property
    def depth(self):
        """Number of steps actually evaluated (the network stops after the deepest layer)."""
        return len(self._steps)

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected an image batch of shape (N, 3, H, W), got {tuple(x.shape)}")
        x = (x - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        wanted, out = set(self.layers), {}
        for name, module in self._steps:
            try:
                x = module(x)
            except RuntimeError as e:
                if "too small" in str(e) or "Kernel size" in str(e) or "output size" in str(e).lower():
                    raise SettingError(f"the image is too small for {self.name} layer {name} "
                                     f"(only {x.shape[-2]}x{x.shape[-1]} positions reached it); use a larger image size "
                                     f"or shallower layers") from None
                raise
            if name in wanted:
                out[name] = x
        return out


def build_extractor(name, layers, pooling="avg", state_dict=None, device="cpu", source="given weights"):
    """Truncated extractor for `layers`; random weights when `state_dict` is None."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be 'avg' or 'max', got {pooling!r}")
    model, steps = _architecture(name)
    names = [n for n, _ in steps]
    unknown = [layer for layer in layers if layer not in names]
    if unknown or not layers:
        raise SettingError(f"unknown {name} layer(s) {unknown or '(none given)'}; available: {', '.join(names)}")
    deepest = max(names.index(layer) for layer in layers)
    steps = steps[:deepest + 1]
    _prune(name, model, [p for _, p in steps])
    if pooling == "avg":
        for i, (n, path) in enumerate(steps):
            m = _get(model, path)
            if isinstance(m, nn.MaxPool2d):
                # count_include_pad=False: padded zeros would darken borders of ResNet's stem pool.
                _set(model, path, nn.AvgPool2d(m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode,
                                               count_include_pad=False))
    # An in-place ReLU would overwrite a convolution output that is captured as a layer.
    captured = set(layers)
    for (prev, _), (_, path) in zip(steps, steps[1:]):
        m = _get(model, path)
        if isinstance(m, nn.ReLU) and prev in captured:
            _set(model, path, nn.ReLU(inplace=False))
    model = model.to_empty(device=device)
    if state_dict is None:
        _random_init(model)
    else:
        _load_kept(name, model, state_dict, source)
    return FeatureExtractor(name, model, steps, layers).to(device)


def _load_kept(name, model, state_dict, source):
    """Copy the kept part's tensors from a full (or partial) torchvision state dict."""
    own = model.state_dict()
    remap = {"stem.0.": "conv1.", "stem.1.": "bn1."}  # our ResNet stem wrapper vs torchvision names
    missing, loaded = [], {}
    for key, tensor in own.items():
        src = key
        for a, b in remap.items():
            if key.startswith(a):
                src = b + key[len(a):]
        value = state_dict.get(src, state_dict.get(key))
        if value is None:
            missing.append(src)
            continue
        if tuple(value.shape) != tuple(tensor.shape):
            raise WeightsError(f"{source}: {src} has shape {tuple(value.shape)} but {name} needs "
                               f"{tuple(tensor.shape)}; is this a {name} weights file?")
        loaded[key] = value
    if missing:
        raise WeightsError(f"{source}: lacks {len(missing)} of the {len(own)} {name} tensors needed "
                           f"(first: {missing[0]}); is this a torchvision {name} weights file?")
    model.load_state_dict(loaded, strict=True)


def load_extractor(name, layers, pooling="avg", weights=None, device="cpu"):
    """Resolve `weights` (None: ImageNet from the torch cache, a path, or 'random') and build."""
    state_dict, source = resolve_weights(name, weights)
    return build_extractor(name, layers, pooling, state_dict, device, source)
