"""Inference for the people who use the models: load a generator and translate images.

    import cyclegan
    t = cyclegan.load("checkpoints/vangogh2photo_cyclegan", direction="photo2painting")  # a run, .pth or .onnx
    painting = t(PIL.Image.open("me.jpg"))                                              # PIL in, PIL out

loading.py finds and loads what a path names; arch.py reads a generator's architecture from its weights;
translator.py translates (padding, device, precision, batching); tiling.py runs images of any size in bounded
memory with whole-image instance-norm statistics; onnx.py exports and runs ONNX files; compiled.py wraps
torch.compile for inference. A library layer: it imports models, nst, io, images and perf, never options,
training or display.
"""
from .errors import ModelFileError, NotTileable
from .loading import DIRECTIONS, generator_name, load
from .translator import Translator

__all__ = ["DIRECTIONS", "ModelFileError", "NotTileable", "Translator", "generator_name", "load"]
