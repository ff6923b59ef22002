"""The model layer: CycleGANModel and CUTModel (CUT / FastCUT) with their nets, losses, pool, schedulers and
runtime (speed settings, the CUDA-graph step); this module is the registry (`--model cycle_gan | cut | test`).
`--model test` (one generator, one direction, e.g. an official pretrained style_vangogh) has no model class:
cyclegan-test translates it, like every model, through cyclegan.load (cyclegan/testing.py)."""
from .base_model import BaseModel
from .cut_model import CUTModel
from .cycle_gan_model import CycleGANModel

MODELS = {"cycle_gan": CycleGANModel, "cut": CUTModel}  # the models that train
TEST_ONLY = "test"
MODEL_CHOICES = (*MODELS, TEST_ONLY)


def find_model_class(name):
    if name == TEST_ONLY:
        raise ValueError("--model test is for testing only (one generator, translated through cyclegan.load); "
                         "train with --model cycle_gan or --model cut")
    if name not in MODELS:
        raise ValueError(f"--model {name!r} is not one of: {', '.join(MODEL_CHOICES)}")
    return MODELS[name]


def add_test_only_flags(parser, is_train=False):
    """--model test's one flag (the official TestModel's): which generator file of a run it loads."""
    if is_train:
        parser.error("--model test is for testing only; train with --model cycle_gan or --model cut")
    parser.add_argument("--model_suffix", type=str, default="",
                        help="load {epoch}_net_G{suffix}.pth, e.g. _A for the A->B generator of a CycleGAN run")
    return parser


def get_option_setter(name):
    return add_test_only_flags if name == TEST_ONLY else find_model_class(name).modify_commandline_options


def apply_presets(name, parser, known, is_train=True, saved=None, typed=()):
    """The model's presets (BaseModel.apply_presets); --model test has none."""
    if name != TEST_ONLY:
        find_model_class(name).apply_presets(parser, known, is_train, saved, typed)


def create_model(opt):
    """Instantiate the model named by opt.model (official API: then call model.setup(opt))."""
    model = find_model_class(opt.model)(opt)
    print(f"model [{type(model).__name__}] was created")
    return model


__all__ = ["BaseModel", "CUTModel", "CycleGANModel", "create_model", "find_model_class", "get_option_setter",
           "apply_presets", "MODELS", "MODEL_CHOICES", "TEST_ONLY"]
