"""The warping error (cyclegan.metrics.warp) on generated clips whose motion is known: a still clip scores 0, a pan
of a static image stylised by a per-pixel colour map scores near 0, per-frame noise scores high; the occlusion
check, the exact whole-pixel warp and batch-by-batch accumulation behave; a pair's one stacked warp equals the
three separate warps it replaces, and `every` scores a regular sample of the pairs."""
import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan.media.clips import canvas_of, pan_zoom_frames
from cyclegan.metrics.warp import (WarpError, masked_error, occlusion, optical_flow, pair_errors, sample,
                                   warp_error)


def textured_canvas(w=112, h=48, seed=0):
    """A static scene: smooth colour regions plus fine texture, so the flow has something to follow."""
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.interpolate(torch.rand(1, 3, 6, 14, generator=g), size=(h, w), mode="bicubic",
                                             align_corners=False)[0]
    texture = torch.nn.functional.interpolate(torch.rand(1, 1, h // 2, w // 2, generator=g), size=(h, w),
                                              mode="bilinear", align_corners=False)[0]
    image = (0.7 * smooth + 0.3 * texture).clamp(0, 1)
    return Image.fromarray((image.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))


def colour_map(x):
    """A per-pixel, non-linear colour map: it commutes with any motion of the scene."""
    r, g, b = x.unbind(1)
    return torch.stack([g ** 2, 1 - r, 0.3 + 0.5 * b * r], 1)


@pytest.fixture(scope="module")
def pan():
    return pan_zoom_frames(textured_canvas(), 12, size=(64, 48), zoom=(1.0, 1.0))  # 4.4 px per frame


def test_a_still_clip_scores_zero():
    frames = pan_zoom_frames(textured_canvas(), 1, size=(64, 48), zoom=(1.0, 1.0)).repeat(5, 1, 1, 1)
    r = warp_error(frames, colour_map(frames))
    assert r["warp_error"] == 0 and r["input_warp_error"] == 0 and r["warp_pairs"] == 4


def test_a_pan_under_a_per_pixel_map_scores_near_zero_and_noise_scores_high(pan):
    steady = warp_error(pan, colour_map(pan))
    g = torch.Generator().manual_seed(1)
    noisy = warp_error(pan, (colour_map(pan) + 0.1 * torch.randn(pan.shape, generator=g)).clamp(0, 1))
    assert steady["warp_pairs"] == 11 and steady["warp_valid_fraction"] > 0.8  # the flow follows the pan
    assert steady["warp_error"] < 2e-3, steady
    assert noisy["warp_error"] > 0.02 > 10 * steady["warp_error"], (steady, noisy)


def test_the_flow_follows_a_known_shift():
    canvas = textured_canvas()
    a, b = (torch.from_numpy(np.array(canvas.crop((x, 0, x + 64, 48)))).permute(2, 0, 1) / 255 for x in (10, 13))
    flow = optical_flow(a, b)  # the scene moves 3 px to the left
    assert abs(float(np.median(flow[..., 0])) + 3) < 0.25 and abs(float(np.median(flow[..., 1]))) < 0.25


def test_occlusion_is_a_forward_backward_check():
    h, w = 10, 12
    fw = np.zeros((h, w, 2), np.float32)
    fw[..., 0] = 3.0  # everything moves 3 px to the right ...
    bw = -fw  # ... and back: consistent
    occluded = occlusion(fw, bw).numpy()
    assert occluded[:, -3:].all() and not occluded[:, :-3].any()  # only what leaves the frame
    bw[2:5, 2:5] = 0.0  # the backward flow disagrees there: occluded
    occluded = occlusion(fw, bw).numpy()
    assert occluded[2:5, 0:2].all() and not occluded[6:, :-3].any()  # pixels landing on the mismatch


def test_a_whole_pixel_warp_copies_values_exactly():
    image = torch.rand(3, 6, 7)
    flow = np.zeros((6, 7, 2), np.float32)
    flow[..., 1] = 2.0
    out, inside = sample(image, flow)
    assert torch.equal(out[:, :4], image[:, 2:]) and inside[:4].all() and not inside[4:].any()


def test_batches_add_up_to_the_whole_clip(pan):
    y = colour_map(pan) + 0.05 * torch.randn(pan.shape, generator=torch.Generator().manual_seed(2))
    whole = warp_error(pan, y)
    meter = WarpError()
    for xs, ys in zip(pan.split(5), y.split(5)):
        meter.add(xs, ys)
    assert meter.result() == pytest.approx(whole)


def test_canvas_of_lays_photos_side_by_side():
    a, b = Image.new("RGB", (40, 20), (255, 0, 0)), Image.new("RGB", (30, 30), (0, 0, 255))
    canvas = canvas_of([a, b], height=10)
    assert canvas.size == (30, 10)
    assert canvas.getpixel((5, 5)) == (255, 0, 0) and canvas.getpixel((25, 5)) == (0, 0, 255)


def test_one_stacked_warp_equals_the_separate_warps(pan):
    y = colour_map(pan) + 0.05 * torch.randn(pan.shape, generator=torch.Generator().manual_seed(3))
    x0, x1 = pan[3], pan[4]
    fw, bw = optical_flow(x0, x1), optical_flow(x1, x0)
    valid = ~occlusion(fw, bw)
    separate = [masked_error(y[3], sample(y[4], fw)[0], valid), masked_error(x0, sample(x1, fw)[0], valid)]
    errors, fraction = pair_errors(x0, x1, [(y[3], y[4]), (x0, x1)])
    assert errors == pytest.approx(separate, rel=1e-5) and fraction == pytest.approx(float(valid.float().mean()))
    assert 0 < separate[1] < separate[0]  # the noise costs more than the flow's own floor


def test_every_scores_a_regular_sample_of_the_pairs(pan):
    y = colour_map(pan) + 0.05 * torch.randn(pan.shape, generator=torch.Generator().manual_seed(4))
    meter = WarpError(every=3)
    for xs, ys in zip(pan.split(5), y.split(5)):  # batches that do not line up with the sampling
        meter.add(xs, ys)
    got = meter.result()
    picked = [pair_errors(pan[i], pan[i + 1], [(y[i], y[i + 1])])[0][0] for i in (0, 3, 6, 9)]
    assert got["warp_pairs"] == 4 and got["warp_every"] == 3
    assert got["warp_error"] == pytest.approx(sum(picked) / 4, rel=1e-6)
    assert got["warp_error"] != pytest.approx(warp_error(pan, y)["warp_error"], rel=1e-6)  # not every pair
    with pytest.raises(ValueError, match="every must be at least 1"):
        WarpError(every=0)


def test_uint8_frames_score_as_their_float_values(pan):
    """Video hands the meter uint8 frames as decoded and written: the same scores as those frames in [0, 1]."""
    y = (colour_map(pan) + 0.05 * torch.randn(pan.shape, generator=torch.Generator().manual_seed(5))).clamp(0, 1)
    x8, y8 = ((t * 255 + 0.5).to(torch.uint8) for t in (pan, y))
    as_uint8, as_float = WarpError(every=2), WarpError(every=2)
    for xs, ys in zip(x8.split(4), y8.split(4)):
        as_uint8.add(xs, ys)
    as_float.add(x8.float() / 255, y8.float() / 255)
    got, want = as_uint8.result(), as_float.result()
    assert got.pop("flow") == want.pop("flow") and got["warp_pairs"] == want["warp_pairs"] > 0
    assert got == pytest.approx(want, rel=1e-6)
