"""Feature distillation (--lambda_feat): the student's intermediate activations, each mapped by a learned 1x1
convolution to the teacher's channel count, are pulled towards the teacher's activations at the same points (MSE),
as GAN Compression distils its ResNet students (mit-han-lab/gan-compression, `mapping_layers` model.9/12/15/18).

The points are found from the layout, not from fixed indices, so a 9-block teacher teaches a 6- or 3-block
student: the end of the downsampling path, and the outputs of the residual blocks one third, two thirds and all
the way through the stack. Both nets must have that layout (resnet_*, mobile_resnet_*, CUT's resnets); a U-Net or
a fast-NST teacher is refused with a message naming the flag."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UserError
from ..models.generators import ResnetBlock
from ..models.weights import unwrap

POINTS = ("down", "blocks_1/3", "blocks_2/3", "blocks")


def feature_indices(net, who):
    """{point: index in net.model} for a ResNet-layout generator; UserError naming `who` otherwise."""
    layers = getattr(unwrap(net), "model", None)
    layers = layers if isinstance(layers, nn.Sequential) else []  # a U-Net's `model` is one nested block
    blocks = [i for i, m in enumerate(layers) if isinstance(m, ResnetBlock)]
    if not blocks or blocks != list(range(blocks[0], blocks[0] + len(blocks))):
        raise UserError(f"--lambda_feat: the {who} is not a ResNet-layout generator (resnet_*, mobile_resnet_*); "
                        f"feature distillation matches residual-block activations. Pass --lambda_feat 0")
    n = len(blocks)
    return {"down": blocks[0] - 1, "blocks_1/3": blocks[max(n // 3, 1) - 1],
            "blocks_2/3": blocks[max(2 * n // 3, 1) - 1], "blocks": blocks[-1]}


class FeatureTap:
    """Forward hooks that keep the latest outputs of the chosen layers of `net` ({point: tensor})."""

    def __init__(self, net, indices):
        self.out = {}
        layers = unwrap(net).model
        self.handles = [layers[i].register_forward_hook(self._keep(point)) for point, i in indices.items()]

    def _keep(self, point):
        def hook(module, inputs, output):
            self.out[point] = output
        return hook

    def take(self):
        out, self.out = self.out, {}
        return out

    def close(self):
        for h in self.handles:
            h.remove()


def channels(net, indices, input_nc, size=16):
    """{point: channels} of net's activations at `indices` (one tiny forward on the CPU copy's device/dtype)."""
    tap = FeatureTap(net, indices)
    p = next(unwrap(net).parameters())
    with torch.no_grad():
        unwrap(net)(torch.zeros(1, input_nc, size, size, device=p.device, dtype=p.dtype))
    out = {k: v.shape[1] for k, v in tap.take().items()}
    tap.close()
    return out


class FeatureDistiller(nn.Module):
    """The learned 1x1 maps (student channels -> teacher channels), one per point, and the loss: the mean over
    points of MSE(map(student activation), teacher activation). Saved in the run's full state only (the student's
    weight file stays an ordinary generator)."""

    def __init__(self, student_channels, teacher_channels):
        super().__init__()
        self.maps = nn.ModuleDict({key(p): nn.Conv2d(student_channels[p], teacher_channels[p], 1)
                                   for p in POINTS})

    def forward(self, student_feats, teacher_feats):
        losses = [F.mse_loss(self.maps[key(p)](student_feats[p].float()), teacher_feats[p].float())
                  for p in POINTS]
        return sum(losses) / len(losses)


def key(point):
    return point.replace("/", "_")


class FeatureMatch:
    """Taps on the teacher and the student, their maps, and the loss of one iteration: build once, then call
    loss() after both forwards of the iteration."""

    def __init__(self, teacher_net, student, input_nc, device):
        t_idx, s_idx = feature_indices(teacher_net, "teacher"), feature_indices(student, "student")
        self.distiller = FeatureDistiller(channels(student, s_idx, input_nc), channels(teacher_net, t_idx, input_nc))
        self.distiller.to(device)
        self.teacher_tap, self.student_tap = FeatureTap(teacher_net, t_idx), FeatureTap(student, s_idx)

    def loss(self):
        return self.distiller(self.student_tap.take(), self.teacher_tap.take())
