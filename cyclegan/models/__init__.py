"""The model layer: CycleGANModel, CUTModel (CUT / FastCUT) and TestModel with their nets, losses, pool,
schedulers and runtime (speed settings, the CUDA-graph step, compiled inference); this module is the registry
(`--model cycle_gan | cut | test`)."""
from .base_model import BaseModel
from .cut_model import CUTModel
from .cycle_gan_model import CycleGANModel
from .test_model import TestModel

MODELS = {"cycle_gan": CycleGANModel, "cut": CUTModel, "test": TestModel}


def find_model_class(name):
    if name not in MODELS:
        raise ValueError(f"--model {name!r} is not one of: {', '.join(MODELS)}")
    return MODELS[name]


def get_option_setter(name):
    return find_model_class(name).modify_commandline_options


def create_model(opt):
    """Instantiate the model named by opt.model (official API: then call model.setup(opt))."""
    model = find_model_class(opt.model)(opt)
    print(f"model [{type(model).__name__}] was created")
    return model


__all__ = ["BaseModel", "CUTModel", "CycleGANModel", "TestModel", "create_model", "find_model_class",
           "get_option_setter", "MODELS"]
