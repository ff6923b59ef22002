"""Entry point `cyclegan-export` / `python -m cyclegan.export`: a generator as an ONNX file.

    cyclegan-export --name vangogh2photo_cyclegan --direction photo2painting --output vangogh.onnx
    cyclegan-export --name starry --output starry.onnx                  # a fast-NST run

The graph takes float32 (N, C, H, W) in [-1, 1] with H and W multiples of 4 (see cyclegan/inference/onnx.py);
`cyclegan.load("vangogh.onnx")` and `cyclegan-test --onnx vangogh.onnx` run it with ONNX Runtime.
"""
import os
import sys

from cyclegan.cli import main_guard

# shapes the export is checked on: a square, a wide and a tall one, the last with sides that need padding
CHECK_SIZES = ((256, 256), (192, 320), (300, 182))


def check_images(opt, multiple, channels):
    """(1, C, H, W) tensors in [-1, 1], padded to the multiple, from real images at CHECK_SIZES (generated
    smooth images when the run names none); returns (tensors, where they come from)."""
    import torch
    from cyclegan.images import list_images, load_image
    from cyclegan.inference.loading import saved_settings
    from cyclegan.nst.transformer import pad_to_multiple
    paths = []
    if opt.check_images:
        paths = [opt.check_images] if os.path.isfile(opt.check_images) else list_images(opt.check_images)
    else:
        root = saved_settings(opt.run_dir).get("dataroot") or ""
        for sub in ("testB", "testA"):
            if os.path.isdir(os.path.join(root, sub)):
                paths += list_images(os.path.join(root, sub))[:2]
    tensors = []
    for i, (h, w) in enumerate(CHECK_SIZES):
        if paths:
            x = load_image(paths[i % len(paths)], size=(h, w), signed=True)
        else:
            g = torch.Generator().manual_seed(i)
            x = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8, generator=g), size=(h, w), mode="bilinear",
                                                align_corners=False)[0] * 2 - 1
        x = x.mean(0, keepdim=True) if channels == 1 else x
        tensors.append(pad_to_multiple(x[None], multiple))
    used = {str(paths[i % len(paths)]) for i in range(len(CHECK_SIZES))} if paths else ()
    where = (f"{len(used)} image(s) from {opt.check_images or os.path.dirname(str(paths[0]))}" if paths
             else "generated smooth images (no --check_images, and the run names no dataset with testA/testB)")
    return tensors, where


@main_guard
def main(argv=None):
    from options.export_options import ExportOptions
    opt = ExportOptions().parse(argv)
    from cyclegan.errors import SettingError
    from cyclegan.inference import load
    from cyclegan.inference.onnx import export
    t = load(opt.run_dir, opt.direction or "photo2painting", opt.epoch, "cpu", raw_weights=opt.raw_weights,
             amp="none", compile=False, tile=0)
    if opt.direction and t.direction is None:
        raise SettingError(f"--direction {opt.direction}: {opt.run_dir} has one generator ({t.info['files'][0]}); "
                           f"drop --direction")
    info = {k: v for k, v in t.info.items() if k != "source"}
    info["source"] = t.info["files"][0]
    images, where = check_images(opt, t.multiple, int(info.get("input_nc", 3)))
    print(f"exporting {t.info['description']} ({t.direction or 'one direction'}) from {info['source']}; "
          f"checking ONNX Runtime against PyTorch on {where}:")
    worst = export(t.net, info, opt.output, images, opt.tolerance)
    print(f"wrote {opt.output}: max |onnxruntime - pytorch| = {worst:.2e} over {len(images)} shapes "
          f"(tolerance {opt.tolerance:g}, [-1, 1] units)")
    return 0

if __name__ == "__main__":
    sys.exit(main())
