"""Temporal consistency loss for training a feed-forward styliser (fast NST, CycleGAN generators) to hold still
under motion, after Huang et al. 2017 and Chen et al. 2018, without flow networks or video data.

From a batch of training photos x, a second view is made by a known small random motion: a shift, zoom and
rotation through an affine grid (torch's affine_grid / grid_sample), then a brightness change and pixel noise
(the sensor's part of a real next frame). The loss is the mean squared difference, in [0, 1] pixel units and
on the pixels both views see (the warp's validity mask), between the stylisation of the moved view and the
moved stylisation:

    L = mean over valid pixels and channels of (net(move(x) * gain + noise) - move(net(x)))^2

A per-pixel map commutes with the motion and scores about 0 (exactly at whole-pixel shifts without jitter); a
network whose result depends on where a pattern falls in its strided grid, or on noise, scores higher.

The random draws come from `generator` when one is given (fast NST: a pure function of seed and iteration,
like its photo crops), else from the device's default generator (CycleGAN: the RNG that the full-state
checkpoints save and restore), so a resumed run draws what an uninterrupted one would.
"""
import math

import torch
import torch.nn.functional as F

MAX_SHIFT = 0.04  # of the image side, each way
MAX_ZOOM = 0.04  # scale in [1 - z, 1 + z]
MAX_ROTATION = 3.0  # degrees
BRIGHTNESS = 0.05  # gain in [1 - b, 1 + b]
NOISE = 0.02  # std of Gaussian pixel noise, [0, 1] units
TEMPORAL_HELP = ("weight of the temporal consistency loss (Huang et al. 2017): the stylisation of a photo moved "
                 "by a small random shift, zoom and rotation (plus noise and brightness jitter) must match the "
                 "moved stylisation, on the pixels both views see; 0 = off (default)")


def _rand(shape, generator, device, normal=False):
    """Uniform [0, 1) (or standard normal) numbers from `generator` (moved to `device`), or from the default
    generator of `device` when generator is None."""
    draw = torch.randn if normal else torch.rand
    if generator is None:
        return draw(shape, device=device)
    return draw(shape, generator=generator, device=generator.device).to(device)


def random_motion(n, generator=None, device="cpu", max_shift=MAX_SHIFT, max_zoom=MAX_ZOOM,
                  max_rotation=MAX_ROTATION):
    """(n, 2, 3) affine matrices for affine_grid (output -> input coordinates in [-1, 1]) of random shifts
    (max_shift of the side), zooms and rotations (degrees)."""
    u = _rand((n, 4), generator, device) * 2 - 1
    shift = u[:, :2] * (2 * max_shift)  # the side spans 2 in grid units
    scale = 1 + u[:, 2] * max_zoom
    angle = u[:, 3] * math.radians(max_rotation)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    return torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)


def warp(images, theta):
    """images (N, C, H, W) moved by theta (N, 2, 3), bilinear; what falls outside the image is 0."""
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def valid_mask(theta, shape, device):
    """(N, 1, H, W) float mask of the output pixels whose whole bilinear footprint lies inside the image."""
    ones = torch.ones((shape[0], 1, *shape[2:]), device=device)
    return (warp(ones, theta.to(device)) > 0.999).float()


def moved_views(x, generator=None, value_range=(0.0, 1.0), brightness=BRIGHTNESS, noise=NOISE, **motion):
    """(moved x with brightness and noise jitter, theta, validity mask) for images x (N, C, H, W) whose values
    span value_range; **motion goes to random_motion."""
    n = x.shape[0]
    theta = random_motion(n, generator, x.device, **motion)
    lo, hi = value_range
    gain = 1 + (_rand((n, 1, 1, 1), generator, x.device) * 2 - 1) * brightness
    jitter = _rand(x.shape, generator, x.device, normal=True) * noise
    x01 = warp((x.float() - lo) / (hi - lo), theta)  # in [0, 1] units: outside the image is black either way
    moved = ((x01 * gain + jitter).clamp(0, 1) * (hi - lo) + lo).to(x.dtype)
    return moved, theta, valid_mask(theta, x.shape, x.device)


def consistency(moved_output, output, theta, mask, value_range=(0.0, 1.0)):
    """Mean squared difference in [0, 1] units between net(moved view) and move(net(x)) on the masked pixels."""
    span = value_range[1] - value_range[0]
    diff = (moved_output.float() - warp(output.float(), theta)) / span
    return (diff ** 2 * mask).sum() / (mask.sum() * diff.shape[1]).clamp_min(1)


def temporal_loss(net, x, output=None, generator=None, value_range=(0.0, 1.0), **jitter):
    """The consistency loss of `net` on a batch x (see the module docstring); `output` = net(x) when the caller
    already has it (its graph is kept: the loss trains both passes). **jitter goes to moved_views."""
    moved, theta, mask = moved_views(x, generator, value_range, **jitter)
    output = net(x) if output is None else output
    return consistency(net(moved), output, theta, mask, value_range)
