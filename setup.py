"""Install the `cyclegan` library and the `options` module with their console scripts."""
from setuptools import find_packages, setup

setup(
    name="cyclegan-vangogh",
    version="0.1.0",
    description="CycleGAN photo <-> Van Gogh suite with a Gatys neural-style comparison harness",
    packages=find_packages(include=["cyclegan", "cyclegan.*", "options", "options.*"]),
    python_requires=">=3.10",
    install_requires=[
        "torch", "torchvision", "visdom", "dominate", "pillow", "numpy", "scipy", "tqdm",
        "pytorch-fid",  # the FID Inception network (its weight file stays local: cyclegan/metrics/fid.py)
        "tornado<6.6",  # tornado 6.6 makes every visdom page answer 403
        "av",  # PyAV: video decoding/encoding for cyclegan-video; its wheels ship FFmpeg
        "opencv-python-headless",  # optical flow (DIS) for the warping error, semi-global matching for stereo
        "onnx", "onnxscript", "onnxruntime",  # cyclegan-export (torch.onnx's exporter) and running .onnx files
        "starlette", "uvicorn", "python-multipart",  # cyclegan-demo: the web app, its server, its form parser
    ],
    package_data={"cyclegan.webdemo": ["static/*"]},  # the demo's page, script and style
    # optional training logs: --use_wandb (Weights & Biases) and --use_tensorboard; each stops a run at start with
    # a one-line `pip install` hint where it is missing. The test extra has both, so CI reads their logs back.
    # playwright: the demo's browser test drives the system Chromium (never `playwright install`)
    extras_require={"wandb": ["wandb"], "tensorboard": ["tensorboard"],
                    "test": ["pytest", "playwright", "wandb", "tensorboard"]},
    entry_points={"console_scripts": [
        "cyclegan-train=cyclegan.cli.train:main",
        "cyclegan-test=cyclegan.cli.test:main",
        "cyclegan-gatys=cyclegan.cli.gatys:main",
        "cyclegan-fast-nst=cyclegan.cli.fast_nst:main",
        "cyclegan-video=cyclegan.cli.video:main",
        "cyclegan-stereo=cyclegan.cli.stereo:main",
        "cyclegan-compare=cyclegan.cli.compare:main",
        "cyclegan-benchmark=cyclegan.cli.benchmark:main",
        "cyclegan-visdom=cyclegan.cli.visdom_server:main",
        "cyclegan-eval=cyclegan.cli.evaluate:main",
        "cyclegan-c2st=cyclegan.cli.c2st:main",
        "cyclegan-export=cyclegan.cli.export:main",
        "cyclegan-demo=cyclegan.cli.demo:main",
        "cyclegan-ablate=cyclegan.cli.ablate:main",
        "cyclegan-distill=cyclegan.cli.distill:main",
    ]},
)
