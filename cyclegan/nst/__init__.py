"""Neural style transfer: Gatys et al. by optimisation (this package's public API, below) and fast NST (Johnson
et al.: the transformer net, perceptual loss and loader in fast.py and transformer.py, its training and
stylize_paths in fast_train.py).

    from cyclegan.nst import Stylizer, load_image, save_image
    st = Stylizer("vgg19")                      # ImageNet weights from the torch cache
    targets = st.style_targets([load_image("starry.jpg", 512)])
    image, stats = st.stylize(load_image("photo.jpg", 512), targets, num_iters=300)

run_files() is the whole command (files in, named image out); see cyclegan/cli/gatys.py.
"""
from cyclegan.nst.backbones import (BACKBONES, DEFAULT_LAYERS, POOLINGS, FeatureExtractor, available_layers,
                                    load_extractor)
from cyclegan.nst.image_ops import load_image, output_filename, save_image
from cyclegan.nst.losses import STYLE_LOSSES, gram, make_style_loss
from cyclegan.nst.optimize import (DEFAULT_LR, DEFAULT_STYLE_WEIGHT, DEFAULT_TV_WEIGHT, INITS, OPTIMIZERS,
                                   Objective, RunStats, StyleTargets, Stylizer)
from cyclegan.nst.run import resolve_device, run_files
from cyclegan.nst.weights import WeightsError, cached_weights_path, missing_weights_message, resolve_weights

__all__ = [
    "BACKBONES", "DEFAULT_LAYERS", "POOLINGS", "FeatureExtractor", "available_layers", "load_extractor",
    "load_image", "output_filename", "save_image", "STYLE_LOSSES", "gram", "make_style_loss",
    "DEFAULT_LR", "DEFAULT_STYLE_WEIGHT", "DEFAULT_TV_WEIGHT", "INITS", "OPTIMIZERS",
    "Objective", "RunStats", "StyleTargets", "Stylizer", "resolve_device", "run_files",
    "WeightsError", "cached_weights_path", "missing_weights_message", "resolve_weights",
]
