"""Datasets: folder scanning, odd image modes and names, preprocessing modes, pairing, determinism."""
import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan.data import SingleDataset, UnalignedDataset, create_dataloader, load_rgb, make_dataset
from cyclegan.data.transforms import preprocess
from conftest import make_images


def test_names_with_spaces_non_ascii_and_upper_case_extensions(tmp_path):
    make_images(tmp_path, 1, prefix="a photo ", ext=".JPG")
    make_images(tmp_path, 1, prefix="Straße_日本 ", ext=".PNG")
    (tmp_path / "notes.txt").write_text("not an image")
    paths = make_dataset(str(tmp_path))
    assert len(paths) == 2
    assert all(load_rgb(p).mode == "RGB" for p in paths)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16", "LA", "I"])
def test_odd_modes_become_rgb(tmp_path, mode):
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8))
    if mode == "I;16":
        img = Image.fromarray(np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)
    elif mode == "I":
        img = rgb.convert("L").convert("I")
    else:
        img = rgb.convert(mode)
    path = tmp_path / ("x.tif" if mode in ("CMYK", "I;16", "I") else "x.png")
    img.save(path)
    out = load_rgb(path)
    assert out.mode == "RGB" and out.size == (30, 20)
    if mode in ("I;16", "I", "L", "LA"):  # grey values survive the conversion
        ref = np.asarray(rgb.convert("L"), dtype=np.int32)
        assert np.abs(np.asarray(out)[:, :, 0].astype(np.int32) - ref).max() <= 1


def test_empty_or_missing_folder_is_named(tmp_path):
    (tmp_path / "trainA").mkdir()
    with pytest.raises(FileNotFoundError, match="trainA: no images found"):
        make_dataset(str(tmp_path / "trainA"))
    make_images(tmp_path / "trainA", 1)
    with pytest.raises(FileNotFoundError, match=r"trainB: no such folder.*--dataroot"):
        UnalignedDataset(str(tmp_path), "train")


@pytest.mark.parametrize("mode,size,expect", [
    ("resize_and_crop", (50, 40), (32, 32)), ("crop", (50, 40), (32, 32)),
    ("scale_width", (80, 40), (36, 32)), ("scale_width_and_crop", (80, 40), (32, 32)),
    ("none", (51, 41), (52, 40)),
])
def test_preprocess_modes(mode, size, expect):
    import random
    img = Image.new("RGB", size)
    assert preprocess(img, mode, 36, 32, flip=True, rng=random.Random(0)).size == expect


def test_crop_of_an_image_smaller_than_crop_size_still_works():
    import random
    assert preprocess(Image.new("RGB", (10, 20)), "crop", 36, 32, False, random.Random(0)).size == (32, 32)


def test_unaligned_pairing_lengths_and_determinism(tiny_dataset):
    make_images(tiny_dataset / "trainB", 3, seed=9, prefix="extra")  # 7 B images, 4 A images
    ds = UnalignedDataset(str(tiny_dataset), "train", load_size=36, crop_size=32)
    assert len(ds) == 7
    a, b = ds[(5, 123)], ds[(5, 123)]
    assert torch.equal(a["A"], b["A"]) and a["B_paths"] == b["B_paths"]  # same seed, same sample
    assert a["A"].shape == (3, 32, 32) and -1 <= a["A"].min() and a["A"].max() <= 1
    partners = {ds[(0, s)]["B_paths"] for s in range(40)}
    assert len(partners) > 3  # B is paired at random
    serial = UnalignedDataset(str(tiny_dataset), "train", serial_batches=True, load_size=36, crop_size=32)
    assert serial[(5, 1)]["B_paths"] == serial.B_paths[5] and serial[(5, 1)]["A_paths"] == serial.A_paths[1]


def test_max_dataset_size_and_single_dataset(tiny_dataset):
    ds = UnalignedDataset(str(tiny_dataset), "train", max_dataset_size=2)
    assert len(ds.A_paths) == 2 and len(ds) == 2
    single = SingleDataset(str(tiny_dataset / "testA"), preprocess="none", flip=False)
    assert len(single) == 4 and single[0]["A"].shape == (3, 40, 40)
    one = SingleDataset(str(single.A_paths[0]))
    assert len(one) == 1


def test_loader_epochs_are_reseeded_and_resumable(tiny_dataset):
    ds = UnalignedDataset(str(tiny_dataset), "train", load_size=36, crop_size=32)
    loader = create_dataloader(ds, 1, shuffle=True, num_workers=0, seed=3)
    orders = []
    for epoch in (1, 2, 1):
        loader.sampler.set_epoch(epoch)
        orders.append([b["A_paths"][0] for b in loader])
    assert orders[0] == orders[2] and sorted(orders[0]) == sorted(orders[1])
    loader.sampler.set_epoch(1, start=2)
    assert [b["A_paths"][0] for b in loader] == orders[0][2:]


def test_grayscale_channels(tiny_dataset):
    ds = UnalignedDataset(str(tiny_dataset), "train", input_nc=1, output_nc=3, load_size=36, crop_size=32)
    item = ds[(0, 0)]
    assert item["A"].shape[0] == 1 and item["B"].shape[0] == 3
