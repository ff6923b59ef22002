"""cyclegan.images, the one image I/O module: listing, sizes, conversions, saving, bad files."""
import os

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan import images
from cyclegan.images import (IMG_EXTENSIONS, ImageFileError, from_uint8, list_images, load_image, save_image,
                             target_size, to_uint8)


def write(path, w, h, seed=0, mode="RGB"):
    a = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(a).convert(mode).save(path)
    return path


def test_one_extension_list_includes_ppm_and_lists_sorted(tmp_path):
    assert ".ppm" in IMG_EXTENSIONS and ".webp" in IMG_EXTENSIONS
    for name in ("b.ppm", "a.PNG", "c.jpg"):
        write(tmp_path / name, 8, 6)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "d.tif", 8, 6)
    assert [p.name for p in list_images(tmp_path)] == ["a.PNG", "b.ppm", "c.jpg"]
    assert [p.name for p in list_images(tmp_path, recursive=True)] == ["a.PNG", "b.ppm", "c.jpg", "d.tif"]


def test_every_lister_uses_the_one_list(tmp_path):
    """The dataset, the metrics and the harness see the same files (they disagreed on .ppm)."""
    from cyclegan.data import make_dataset
    from cyclegan.metrics import list_images as metrics_list
    write(tmp_path / "x.ppm", 8, 6)
    write(tmp_path / "y.png", 8, 6)
    expect = [str(tmp_path / "x.ppm"), str(tmp_path / "y.png")]
    assert make_dataset(str(tmp_path)) == expect
    assert [str(p) for p in metrics_list(tmp_path)] == expect


def test_empty_and_missing_folders_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere: no such folder"):
        list_images(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty: no images found \(looked for .*\.ppm"):
        list_images(tmp_path / "empty")


def test_sizes_exact_square_longest_and_rounding(tmp_path):
    path = write(tmp_path / "p.png", 30, 20)  # W=30, H=20
    assert load_image(path).shape == (3, 20, 30)
    assert load_image(path, size=(12, 16)).shape == (3, 12, 16)  # (H, W)
    assert load_image(path, size=16).shape == (3, 16, 16)
    assert load_image(path, longest=15).shape == (3, 10, 15)
    assert load_image(path, longest=22, multiple=4).shape == (3, 16, 24)  # 22x15 -> nearest multiples of 4
    assert load_image(path, multiple=4).shape == (3, 20, 32)  # 30 -> 32 (nearest multiple, as the harness did)
    assert load_image(path, size=(13, 21), multiple=4).shape == (3, 12, 20)
    assert target_size((3, 2), multiple=4) == (4, 4)  # never below one multiple
    with pytest.raises(ValueError, match="either size"):
        load_image(path, size=8, longest=8)


def test_values_unsigned_signed_and_uint8(tmp_path):
    a = np.random.default_rng(1).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    path = tmp_path / "v.png"
    Image.fromarray(a).save(path)
    x = load_image(path)
    assert x.dtype == torch.float32 and float(x.min()) >= 0 and float(x.max()) <= 1
    assert torch.allclose(load_image(path, signed=True), x * 2 - 1, atol=1e-6)
    assert np.array_equal(to_uint8(x), a) and np.array_equal(to_uint8(x * 2 - 1, signed=True), a)
    assert torch.allclose(from_uint8(a), x) and np.array_equal(to_uint8(from_uint8(a, signed=True), signed=True), a)
    gray = to_uint8(torch.full((1, 2, 2), float("nan")))  # one channel -> three, NaN -> black
    assert gray.shape == (2, 2, 3) and gray.max() == 0


@pytest.mark.parametrize("suffix", [".png", ".ppm", ".bmp", ".tif"])
def test_round_trip_tensor_file_tensor_is_exact_for_lossless_formats(tmp_path, suffix):
    x = torch.randint(0, 256, (3, 9, 7)).float() / 255
    out = save_image(x.unsqueeze(0), tmp_path / "sub" / f"r{suffix}")  # batch of one, folder created
    assert out.is_file() and torch.equal(load_image(out), x)
    y = x * 2 - 1
    save_image(y, tmp_path / f"s{suffix}", signed=True)
    assert torch.allclose(load_image(tmp_path / f"s{suffix}", signed=True), y, atol=1e-6)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # the atomic writer cleaned up


def test_save_jpeg_quality_aspect_ratio_and_unknown_suffix(tmp_path):
    x = torch.rand(3, 8, 8)
    save_image(x, tmp_path / "a.jpg")
    with Image.open(tmp_path / "a.jpg") as im:
        assert im.format == "JPEG" and im.size == (8, 8)
    save_image(x, tmp_path / "wide.png", aspect_ratio=2.0)
    save_image(x, tmp_path / "tall.png", aspect_ratio=0.5)
    assert Image.open(tmp_path / "wide.png").size == (16, 8) and Image.open(tmp_path / "tall.png").size == (8, 16)
    with pytest.raises(ImageFileError, match=r"out\.xyz: unknown image suffix"):
        save_image(x, tmp_path / "out.xyz")
    assert not (tmp_path / "out.xyz").exists()


def test_bad_and_missing_files_name_the_file(tmp_path):
    (tmp_path / "junk.jpg").write_text("this is not a jpeg")
    with pytest.raises(ImageFileError, match=r"junk\.jpg: not a readable image.*replace or remove"):
        load_image(tmp_path / "junk.jpg")
    write(tmp_path / "t.png", 40, 40)
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "trunc.png").write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match=r"trunc\.png"):
        load_image(tmp_path / "trunc.png")
    with pytest.raises(FileNotFoundError, match=r"missing\.png: no such image file"):
        load_image(tmp_path / "missing.png")


def test_odd_modes_load_as_rgb(tmp_path):
    write(tmp_path / "rgba.png", 6, 4, mode="RGBA")
    write(tmp_path / "grey.png", 6, 4, mode="L")
    for name in ("rgba.png", "grey.png"):
        assert load_image(tmp_path / name).shape == (3, 4, 6)
    assert images.load_rgb(tmp_path / "grey.png").mode == "RGB"
