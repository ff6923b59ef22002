"""The model flags every model shares, declared once with the official names, defaults and help: the networks'
architecture (NetSettings: saved with every run and read back at test time), the adversarial objective
(LossSettings) and the optimisation schedule (ScheduleSettings, training only). Each model adds its own
losses (CycleGANModel's lambdas, CUTModel's PatchNCE) in its own file."""
from dataclasses import dataclass

from ..settings import Settings, flag
from .discriminators import DISCRIMINATORS
from .generators import GENERATORS
from .layers import INIT_TYPES, NORM_TYPES
from .losses import GAN_MODES
from .schedulers import LR_POLICIES
from .temporal import TEMPORAL_HELP


@dataclass(frozen=True)
class NetSettings(Settings):
    input_nc: int = flag(3, "# of input image channels: 3 RGB, 1 grayscale", type=int)
    output_nc: int = flag(3, "# of output image channels: 3 RGB, 1 grayscale", type=int)
    ngf: int = flag(64, "# of gen filters in the last conv layer", type=int)
    ndf: int = flag(64, "# of discrim filters in the first conv layer", type=int)
    netD: str = flag("basic", "basic is a 70x70 PatchGAN; n_layers uses --n_layers_D; pixel is a 1x1 PatchGAN",
                     type=str, choices=DISCRIMINATORS)
    netG: str = flag("resnet_9blocks", "generator architecture", type=str, choices=GENERATORS)
    n_layers_D: int = flag(3, "only used if netD==n_layers", type=int)
    norm: str = flag("instance", "instance normalization or batch normalization (sync_batch for multi-GPU)",
                     type=str, choices=NORM_TYPES)
    init_type: str = flag("normal", "network initialization", type=str, choices=INIT_TYPES)
    init_gain: float = flag(0.02, "scaling factor for normal, xavier and orthogonal", type=float)
    no_dropout: bool = flag(False, "no dropout for the generator")


@dataclass(frozen=True)
class LossSettings(Settings):
    gan_mode: str = flag("lsgan", "the type of GAN objective; wgangp adds the gradient penalty; hinge: the hinge "
                         "loss", type=str, choices=GAN_MODES)
    pool_size: int = flag(50, "the size of image buffer that stores previously generated images", type=int)
    lambda_temporal: float = flag(0.0, TEMPORAL_HELP + "; CycleGAN keeps its style better with a *_nearest --netG "
                                  "(docs/video.md)", type=float)


@dataclass(frozen=True)
class ScheduleSettings(Settings):
    n_epochs: int = flag(100, "number of epochs with the initial learning rate", type=int)
    n_epochs_decay: int = flag(100, "number of epochs to linearly decay learning rate to zero", type=int)
    beta1: float = flag(0.5, "momentum term of adam", type=float)
    lr: float = flag(0.0002, "initial learning rate for adam", type=float)
    lr_policy: str = flag("linear", "learning rate policy", type=str, choices=LR_POLICIES)
    lr_decay_iters: int = flag(50, "multiply by a gamma every lr_decay_iters epochs (step policy)", type=int)
