"""CUTModel (`--model cut`): CUT and FastCUT (Park, Efros, Zhang, Zhu 2020, "Contrastive Learning for Unpaired
Image-to-Image Translation"; taesungp/contrastive-unpaired-translation), one generator G: A -> B, one
PatchGAN D judging B, and the patch sampler F.

  loss_D = 0.5 * (GAN(D(G(A)), fake) + GAN(D(B), real))
  loss_G = lambda_GAN * GAN(D(G(A)), real) + NCE,   NCE = PatchNCE(G(A), A)  [CUT: (PatchNCE(G(A), A) +
           PatchNCE(G(B), B)) / 2, the identity term --nce_idt]
PatchNCE (models/patchnce.py) compares G's encoder features of the output and of the input at --nce_layers, at
--num_patches positions sampled by F (models/cut_networks.py), times lambda_NCE, averaged over the layers.
The step is the CUT code's: D first, then G and F; --flip_equivariance flips the input batch with probability
0.5 (numpy's generator) and the output features back.

--CUT_mode picks the paper's preset, as the CUT code does, as defaults only (a typed flag always wins):
CUT: --nce_idt, --lambda_NCE 1; FastCUT: no identity term, --lambda_NCE 10, --flip_equivariance, 150 + 50 epochs.
Unlike the CUT code, F's MLPs are built with the model (their input channels are known from G), so the
optimizers, {epoch}_net_F.pth and the full-state checkpoints hold them from the first step.
"""
import argparse
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import SettingError
from ..settings import Settings, flag
from .base_model import BaseModel
from .cut_networks import CUT_GENERATORS, CUT_SAMPLERS, define_cut_D, define_cut_G, define_F
from .diffaug import augmenter
from .layers import NORM_TYPES
from .losses import gan_loss
from .patchnce import PatchNCELoss
from .recipe import RecipeSettings
from .speed import make_adam

MODES = ("CUT", "cut", "FastCUT", "fastcut")
# the CUT code's modify_commandline_options, as parser defaults (typed flags win)
PRESETS = {"cut": dict(nce_idt=True, lambda_NCE=1.0, n_epochs=200, n_epochs_decay=200),
           "fastcut": dict(nce_idt=False, lambda_NCE=10.0, flip_equivariance=True, n_epochs=150, n_epochs_decay=50)}
# what a resumed run takes back from its train_opt.json unless typed: CUT's flags and what its presets set
RESUMED = ("CUT_mode", "lambda_GAN", "lambda_NCE", "nce_idt", "nce_layers", "nce_includes_all_negatives_from_minibatch",
           "netF", "netF_nc", "nce_T", "num_patches", "flip_equivariance", "normG", "normD", "no_antialias",
           "no_antialias_up", "n_epochs", "n_epochs_decay", "diffaug")


def str2bool(text):
    """The CUT code's boolean flags: `--nce_idt`, `--nce_idt True`, `--nce_idt false`, ..."""
    if isinstance(text, bool):
        return text
    if text.lower() in ("yes", "true", "t", "y", "1"):
        return True
    if text.lower() in ("no", "false", "f", "n", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r}: give true or false")


def nce_layer_list(text):
    """'0,4,8,12,16' -> [0, 4, 8, 12, 16]; an error names --nce_layers."""
    try:
        layers = [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise SettingError(f"--nce_layers {text!r}: give comma-separated layer indices such as 0,4,8,12,16") from None
    if not layers:
        raise SettingError("--nce_layers is empty: give layer indices such as 0,4,8,12,16")
    return layers


@dataclass(frozen=True)
class CUTSettings(Settings):
    """The cut model's flags, with the CUT code's names and defaults (--CUT_mode's presets: apply_presets)."""
    CUT_mode: str = flag("CUT", "CUT: --nce_idt, --lambda_NCE 1, 200+200 epochs; FastCUT: no --nce_idt, --lambda_NCE "
                         "10, --flip_equivariance, 150+50 epochs (presets are defaults: typed flags win)", type=str,
                         choices=MODES)
    lambda_GAN: float = flag(1.0, "weight for GAN loss: GAN(G(X))", type=float)
    lambda_NCE: float = flag(1.0, "weight for NCE loss: NCE(G(X), X)", type=float)
    nce_idt: bool = flag(False, "use NCE loss for identity mapping: NCE(G(Y), Y)", type=str2bool, nargs="?",
                         const=True)
    nce_layers: str = flag("0,4,8,12,16", "compute NCE loss on the outputs of these layers of the generator",
                           type=str)
    nce_includes_all_negatives_from_minibatch: bool = flag(
        False, "negatives from every image of the minibatch, not only from the same image (the CUT code uses it "
        "for single-image translation)", type=str2bool, nargs="?", const=True)
    netF: str = flag("mlp_sample", "how to sample the feature maps: mlp_sample (an MLP per layer) or sample",
                     type=str, choices=CUT_SAMPLERS)
    netF_nc: int = flag(256, "width of F's MLPs", type=int)
    nce_T: float = flag(0.07, "temperature for NCE loss", type=float)
    num_patches: int = flag(256, "number of patches per layer", type=int)
    flip_equivariance: bool = flag(False, "enforce flip-equivariance as additional regularization (FastCUT)",
                                   type=str2bool, nargs="?", const=True)
    normG: str = flag("instance", "normalization of the generator (--model cut reads --normG/--normD, not --norm)",
                      type=str, choices=[n for n in NORM_TYPES if n != "sync_batch"])
    normD: str = flag("instance", "normalization of the discriminator", type=str, choices=[n for n in NORM_TYPES if n != "sync_batch"])
    no_antialias: bool = flag(False, "stride-2 convs instead of anti-aliased downsampling (in G and D)")
    no_antialias_up: bool = flag(False, "transposed convs instead of anti-aliased upsampling (blur-upsample, then a "
                                 "conv) in G")


class CUTModel(BaseModel):
    no_capture_reason = ("--model cut has no captured step: F draws its patch positions and --flip_equivariance its "
                         "flips from numpy on the host each step, which a CUDA graph cannot replay")

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        p = CUTSettings.add_arguments(parser.add_argument_group("the cut model (--model cut, docs/cut.md)"))
        p.set_defaults(init_type="xavier", no_dropout=True)  # the CUT code's defaults
        if is_train:
            p.set_defaults(pool_size=0)
            # not in the CUT code: DiffAugment against a discriminator that overfits few paintings (recipes.md)
            RecipeSettings.add_arguments(p, only=("diffaug",))
        return parser

    @staticmethod
    def apply_presets(parser, known, is_train=True, saved=None, typed=()):
        """--CUT_mode's preset as parser defaults (`known`: the command line parsed once with this model's flags),
        so typed flags keep their values; on --continue_train (`saved`: the run's options) without a typed
        --CUT_mode, the run's mode and CUT settings come back unless typed, as `--recipe` does for CycleGAN."""
        restore = saved and "CUT_mode" not in typed
        restored = {k: saved[k] for k in RESUMED if k in saved and k not in typed} if restore else {}
        mode = restored.get("CUT_mode", known.CUT_mode)
        preset = dict(PRESETS[mode.lower()])
        if not is_train:  # the test parser has no epoch flags
            preset = {k: v for k, v in preset.items() if k not in ("n_epochs", "n_epochs_decay")}
        parser.set_defaults(**{**preset, **restored})

    def __init__(self, opt):
        super().__init__(opt)
        self.nce_layers = nce_layer_list(opt.nce_layers)
        self.loss_names = ["G_GAN", "D_real", "D_fake", "G", "NCE"]
        self.visual_names = ["real_A", "fake_B", "real_B"]
        if opt.nce_idt and self.isTrain:
            self.loss_names.append("NCE_Y")
            self.visual_names.append("idt_B")
        self.model_names = ["G", "F", "D"] if self.isTrain else ["G"]
        self.generator_names = ["G"]
        if opt.netG not in CUT_GENERATORS:
            raise SettingError(f"--netG {opt.netG}: --model cut trains resnet_9blocks or resnet_6blocks (the CUT "
                               f"code's resnet generators with anti-aliased sampling)")
        self.netG = define_cut_G(opt.input_nc, opt.output_nc, opt.ngf, opt.netG, opt.normG, not opt.no_dropout,
                                 opt.init_type, opt.init_gain, opt.no_antialias, opt.no_antialias_up).to(self.device)
        if not self.isTrain:
            return
        channels = self.netG.feature_channels(self.nce_layers)
        self.netF = define_F(channels, opt.netF, opt.netF_nc, opt.init_type, opt.init_gain).to(self.device)
        self.netD = define_cut_D(opt.output_nc, opt.ndf, opt.netD, opt.n_layers_D, opt.normD, opt.init_type,
                                 opt.init_gain, opt.no_antialias).to(self.device)
        if opt.nce_idt and opt.input_nc != opt.output_nc:
            raise SettingError("--nce_idt needs --input_nc == --output_nc (G runs on B images too)")
        if opt.gan_mode == "wgangp":
            raise SettingError("--gan_mode wgangp: --model cut has no gradient penalty (the CUT code neither); use "
                               "lsgan (its default), vanilla or hinge")
        self.criterionGAN = gan_loss(opt.gan_mode).to(self.device)
        self.criterionNCE = PatchNCELoss(opt.nce_T, opt.nce_includes_all_negatives_from_minibatch)
        betas = (opt.beta1, 0.999)
        self.optimizer_G = make_adam(self.netG.parameters(), lr=opt.lr, betas=betas)
        self.optimizer_D = make_adam(self.netD.parameters(), lr=opt.lr, betas=betas)
        self.optimizer_names = ["G", "D"]
        if opt.netF == "mlp_sample":  # `sample` has no weights
            self.optimizer_F = make_adam(self.netF.parameters(), lr=opt.lr, betas=betas)
            self.optimizer_names.append("F")
        self.flipped_for_equivariance = False
        self.augment = augmenter(opt.diffaug)  # identity when off: the CUT code's step

    def configure(self, speed=None, world_size=1):
        """BaseModel.configure, refusing what CUT's step does not support (one line each, naming the flag)."""
        if world_size > 1:
            raise SettingError("--model cut trains in one process: its generator runs up to three times per "
                               "step (image, NCE features of the output and of the input), which "
                               "DistributedDataParallel's gradient hooks do not allow; run it without torchrun")
        return super().configure(speed, world_size)

    def set_input(self, data):
        """data: {'A': tensor, 'B': tensor, 'A_paths': [...], 'B_paths': [...]}; direction BtoA swaps them."""
        self.take_two_domains(data)

    def get_visual_paths(self):
        paths = super().get_visual_paths()
        if self.image_paths_B:
            paths.update({n: self.image_paths_B for n in ("real_B", "idt_B")})
        return paths

    def forward(self):
        """fake_B = G(A); training with --nce_idt runs G on [A; B] at once (idt_B = G(B))."""
        idt = self.opt.nce_idt and self.isTrain
        real = torch.cat((self.real_A, self.real_B)) if idt else self.real_A
        self.flipped_for_equivariance = False
        if self.opt.flip_equivariance and self.isTrain:
            self.flipped_for_equivariance = bool(np.random.random() < 0.5)
            if self.flipped_for_equivariance:
                real = torch.flip(real, [3])
        fake = self.netG(real)
        n = self.real_A.shape[0]
        self.fake_B = fake[:n]
        if idt:
            self.idt_B = fake[n:]

    def compute_D_loss(self):
        pred_fake = self.netD(self.augment(self.fake_B.detach()))
        self.loss_D_fake = self.criterionGAN(pred_fake, False).mean()
        pred_real = self.netD(self.augment(self.real_B))
        self.loss_D_real = self.criterionGAN(pred_real, True).mean()
        self.loss_D = (self.loss_D_fake + self.loss_D_real) * 0.5
        return self.loss_D

    def compute_G_loss(self):
        o, zero = self.opt, torch.zeros((), device=self.device)
        if o.lambda_GAN > 0:
            pred = self.netD(self.augment(self.fake_B))
            self.loss_G_GAN = self.criterionGAN(pred, True, for_generator=True).mean() * o.lambda_GAN
        else:
            self.loss_G_GAN = zero
        self.loss_NCE = self.nce_loss(self.real_A, self.fake_B) if o.lambda_NCE > 0 else zero
        if o.nce_idt and o.lambda_NCE > 0:
            self.loss_NCE_Y = self.nce_loss(self.real_B, self.idt_B)
            nce = (self.loss_NCE + self.loss_NCE_Y) * 0.5
        else:
            self.loss_NCE_Y, nce = zero, self.loss_NCE
        self.loss_G = self.loss_G_GAN + nce
        return self.loss_G

    def nce_loss(self, src, tgt):
        """PatchNCE between G's features of tgt (queries) and of src (keys) at the same sampled positions."""
        o = self.opt
        feat_q = self.netG(tgt, self.nce_layers, encode_only=True)
        if self.flipped_for_equivariance:
            feat_q = [torch.flip(f, [3]) for f in feat_q]
        feat_k = self.netG(src, self.nce_layers, encode_only=True)
        pool_k, ids = self.netF(feat_k, o.num_patches, None)
        pool_q, _ = self.netF(feat_q, o.num_patches, ids)
        total = 0.0
        for f_q, f_k in zip(pool_q, pool_k):
            total = total + (self.criterionNCE(f_q, f_k, src.shape[0]) * o.lambda_NCE).mean()
        return total / len(self.nce_layers)

    def optimize_parameters(self):
        """The CUT code's step: forward, D (its own optimizer), then G and F together; the G loss goes into the
        epoch metric on the device."""
        with self.autocast():
            self.forward()
        self.set_requires_grad(self.netD, True)
        self.optimizer_D.zero_grad()
        with self.autocast():
            loss_D = self.compute_D_loss()
        self.backward(loss_D, self.optimizer_D)
        self.step(self.optimizer_D)
        self.set_requires_grad(self.netD, False)
        gf = [self.optimizer_G] + ([self.optimizer_F] if "F" in self.optimizer_names else [])
        for o in gf:
            o.zero_grad()
        with self.autocast():
            loss_G = self.compute_G_loss()
        self.backward(loss_G, self.optimizer_G)
        self.step_together(gf)
        self.observe_metric(self.loss_G)

    def step_together(self, optimizers):
        """Step optimizers whose parameters one scaled backward reached: under fp16 through the first one's
        GradScaler (one scale for all, then one update), else plainly."""
        scaler = self.scalers[self.optimizers.index(optimizers[0])] if self.scalers else None
        for o in optimizers:
            if scaler is None:
                o.step()
            else:
                scaler.step(o)
        if scaler is not None:
            scaler.update()
