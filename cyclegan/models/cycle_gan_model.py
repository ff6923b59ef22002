"""CycleGANModel: G_A: A->B, G_B: B->A, D_A judges B, D_B judges A; GAN + cycle + identity losses.

The math is the official one:
  loss_G = GAN(D_A(G_A(A))) + GAN(D_B(G_B(B)))
         + lambda_A * |G_B(G_A(A)) - A| + lambda_B * |G_A(G_B(B)) - B|
         + lambda_identity * (lambda_B * |G_A(B) - B| + lambda_A * |G_B(A) - A|)
         [+ lambda_temporal * temporal consistency of G_A on A and G_B on B (models/temporal.py); off by default]
  loss_D = 0.5 * (GAN(D(real), real) + GAN(D(pool(fake)), fake))  [+ gradient penalty with wgangp]

Batched passes (on by default where they keep the math: instance or no norm, no dropout): a network that
the step calls on two inputs of the same shape calls once on both, stacked. G_A([A; B]) gives fake_B and
idt_A, G_B([B; A]) fake_A and idt_B, D_A([B; pool(fake_B)]) and D_B([A; pool(fake_A)]) in the D step;
losses are computed on the split outputs as before. Every sample is normalised on its own, so only the
float summation order of the weight gradients changes. Batch norm (statistics over the batch) and dropout
(its masks come from one RNG stream in call order) keep the official call order.

Recipe techniques (models/recipe.py; all off by default): DiffAugment on every D input, generator EMA,
spectral norm, lazy R1, hinge loss, TTUR and batch-size learning-rate rules, bilinear-initialised upsampling,
--init_from.
"""
import argparse
import itertools
from dataclasses import dataclass

import torch

from .base_model import BaseModel
from .discriminators import define_D
from .generators import define_G
from .graph_step import CaptureSpec
from .image_pool import ImagePool
from .losses import gan_loss, gradient_penalty
from ..settings import Settings, flag
from .recipe import Recipe, RecipeSettings, add_flags, learning_rate
from .speed import make_adam
from .temporal import temporal_loss


@dataclass(frozen=True)
class CycleGANSettings(Settings):
    """The cycle_gan model's own training flags (official names and defaults)."""
    lambda_A: float = flag(10.0, "weight for cycle loss (A -> B -> A)", type=float)
    lambda_B: float = flag(10.0, "weight for cycle loss (B -> A -> B)", type=float)
    lambda_identity: float = flag(0.5, "identity loss weight, as a fraction of lambda_A/lambda_B; 0 turns it off",
                                  type=float)
    lambda_gp: float = flag(10.0, "gradient penalty weight (wgangp only)", type=float)
    batched_passes: bool = flag(None, "one call per network on stacked inputs where the math is unchanged "
                                "(default: on with --norm instance/none and no dropout)",
                                action=argparse.BooleanOptionalAction)


class CycleGANModel(BaseModel):
    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        parser.set_defaults(no_dropout=True)  # the published CycleGAN did not use dropout
        if is_train:
            CycleGANSettings.add_arguments(parser.add_argument_group("the cycle_gan model's losses (--model cycle_gan)"))
            add_flags(parser)
        return parser

    def __init__(self, opt):
        super().__init__(opt)
        self.loss_names = ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]
        if self.isTrain and opt.lambda_temporal > 0:
            self.loss_names += ["temporal_A", "temporal_B"]  # models/temporal.py; off: the official step
        vis_A, vis_B = ["real_A", "fake_B", "rec_A"], ["real_B", "fake_A", "rec_B"]
        if self.isTrain and opt.lambda_identity > 0.0:
            vis_A.append("idt_B")
            vis_B.append("idt_A")
        self.visual_names = vis_A + vis_B
        self.visual_names_B = vis_B  # pictures of the B input: named after the B image at test time
        self.model_names = ["G_A", "G_B", "D_A", "D_B"] if self.isTrain else ["G_A", "G_B"]
        self.generator_names = ["G_A", "G_B"]  # G_A: A -> B first

        g = dict(ngf=opt.ngf, netG=opt.netG, norm=opt.norm, use_dropout=not opt.no_dropout,
                 init_type=opt.init_type, init_gain=opt.init_gain)
        self.netG_A = define_G(opt.input_nc, opt.output_nc, **g).to(self.device)
        self.netG_B = define_G(opt.output_nc, opt.input_nc, **g).to(self.device)
        if self.isTrain:
            d = dict(ndf=opt.ndf, netD=opt.netD, n_layers_D=opt.n_layers_D, norm=opt.norm, init_type=opt.init_type,
                     init_gain=opt.init_gain, spectral_norm=RecipeSettings.from_opt(opt).spectral_norm)
            self.netD_A = define_D(opt.output_nc, **d).to(self.device)
            self.netD_B = define_D(opt.input_nc, **d).to(self.device)
            if opt.lambda_identity > 0.0 and opt.input_nc != opt.output_nc:
                raise ValueError("--lambda_identity > 0 needs --input_nc == --output_nc")
            self.fake_A_pool = ImagePool(opt.pool_size)
            self.fake_B_pool = ImagePool(opt.pool_size)
            self.pool_names = ["fake_A_pool", "fake_B_pool"]
            self.criterionGAN = gan_loss(opt.gan_mode).to(self.device)
            self.criterionCycle = torch.nn.L1Loss()
            self.criterionIdt = torch.nn.L1Loss()
            betas = (opt.beta1, 0.999)
            self.optimizer_G = make_adam(  # plain Adam's steps until --amp fuses them (speed.make_adam)
                itertools.chain(self.netG_A.parameters(), self.netG_B.parameters()), lr=learning_rate(opt, "G"),
                betas=betas)
            self.optimizer_D = make_adam(
                itertools.chain(self.netD_A.parameters(), self.netD_B.parameters()), lr=learning_rate(opt, "D"),
                betas=betas)
            self.optimizer_names = ["G", "D"]
            self.batched = batched_passes(opt)
        self.recipe = Recipe(opt, {"G_A": self.netG_A, "G_B": self.netG_B}, self.isTrain)

    def capture_spec(self):
        """The training step for a captured CUDA graph (BaseModel.configure decides whether it runs). The recipe's
        draws (DiffAugment) come from the device's generator inside the step, as the temporal loss's do; its
        per-step work after the step (the generators' EMA, the lazy R1's clock) runs eagerly in
        optimize_parameters, after the replay, and a lazy R1 keeps the graph off (Recipe.capture_conflict)."""
        if not self.isTrain:
            return None
        return CaptureSpec(step=self.train_step, inputs=("real_A", "real_B"),
                           pools=(("fake_B_pool", "fake_B"), ("fake_A_pool", "fake_A")),  # D_A's query comes first
                           losses=tuple("loss_" + n for n in self.loss_names) + ("loss_G",),
                           visuals=tuple(self.visual_names), optimizers=tuple(self.optimizers), device=self.device,
                           abandon=self.abandon_step, batch_size=self.opt.batch_size)

    def runtime(self):
        return {**super().runtime(), "batched_passes": getattr(self, "batched", False)}

    def set_input(self, data):
        """data: {'A': tensor, 'B': tensor, 'A_paths': [...], 'B_paths': [...]}; direction BtoA swaps them."""
        self.take_two_domains(data)

    def get_visual_paths(self):
        paths = super().get_visual_paths()
        if self.image_paths_B:  # folders of different sizes: no B-side picture overwrites another
            paths.update({n: self.image_paths_B for n in self.visual_names_B})
        return paths

    def forward(self):
        self.fake_B = self.netG_A(self.real_A)
        self.rec_A = self.netG_B(self.fake_B)
        self.fake_A = self.netG_B(self.real_B)
        self.rec_B = self.netG_A(self.fake_A)

    def forward_train(self):
        """forward() plus the identity images, batched where the math allows (see the module docstring)."""
        same = self.real_A.shape == self.real_B.shape
        if not (self.batched and same and self.opt.lambda_identity > 0):
            self.forward()
            if self.opt.lambda_identity > 0:
                self.idt_A = self.netG_A(self.real_B)
                self.idt_B = self.netG_B(self.real_A)
            return
        n = self.real_A.shape[0]
        self.fake_B, self.idt_A = self.netG_A(self.stack(self.real_A, self.real_B)).split(n)
        self.fake_A, self.idt_B = self.netG_B(self.stack(self.real_B, self.real_A)).split(n)
        self.rec_A = self.netG_B(self.fake_B)
        self.rec_B = self.netG_A(self.fake_A)

    def stack(self, first, second):
        return torch.cat([first, second]).contiguous(memory_format=self.memory_format)

    def backward_D_basic(self, netD, real, fake):
        aug, r1 = self.recipe.augment, self.recipe.r1_due()  # DiffAugment (identity when off), lazy R1
        with self.autocast():
            fake = fake.detach()
            if r1:
                real = real.detach().requires_grad_(True)
            if self.batched and real.shape == fake.shape:
                pred_real, pred_fake = netD(aug(self.stack(real, fake))).split(real.shape[0])
            else:
                pred_real, pred_fake = netD(aug(real)), netD(aug(fake))
            loss_real = self.criterionGAN(pred_real, True)
            loss_fake = self.criterionGAN(pred_fake, False)
            loss = (loss_real + loss_fake) * 0.5
            if self.opt.gan_mode == "wgangp":
                loss = loss + gradient_penalty(netD, real, fake, lambda_gp=self.opt.lambda_gp)
            if r1:
                loss = loss + self.recipe.r1.penalty(pred_real, real)
        self.backward(loss, self.optimizer_D)
        return loss

    def backward_D_A(self):
        self.loss_D_A = self.backward_D_basic(self.netD_A, self.real_B, self.fake_B_pool.query(self.fake_B))

    def backward_D_B(self):
        self.loss_D_B = self.backward_D_basic(self.netD_B, self.real_A, self.fake_A_pool.query(self.fake_A))

    def backward_G(self):
        o = self.opt
        with self.autocast():
            self.compute_G_loss(o)
        self.backward(self.loss_G, self.optimizer_G)

    def compute_G_loss(self, o):
        """The generator losses (under autocast when amp is on); backward_G back-propagates loss_G."""
        if o.lambda_identity > 0:  # idt_A = G_A(B), idt_B = G_B(A): computed in forward_train
            self.loss_idt_A = self.criterionIdt(self.idt_A, self.real_B) * o.lambda_B * o.lambda_identity
            self.loss_idt_B = self.criterionIdt(self.idt_B, self.real_A) * o.lambda_A * o.lambda_identity
        else:
            self.loss_idt_A = self.loss_idt_B = torch.zeros((), device=self.device)
        # Ds are frozen here: call them without DDP, which would wait for their gradients
        aug = self.recipe.augment
        self.loss_G_A = self.criterionGAN(self.local(self.netD_A)(aug(self.fake_B)), True, for_generator=True)
        self.loss_G_B = self.criterionGAN(self.local(self.netD_B)(aug(self.fake_A)), True, for_generator=True)
        self.loss_cycle_A = self.criterionCycle(self.rec_A, self.real_A) * o.lambda_A
        self.loss_cycle_B = self.criterionCycle(self.rec_B, self.real_B) * o.lambda_B
        self.loss_G = (self.loss_G_A + self.loss_G_B + self.loss_cycle_A + self.loss_cycle_B
                       + self.loss_idt_A + self.loss_idt_B)
        if o.lambda_temporal > 0:  # each G on a moved view of its input (models/temporal.py)
            lam, signed = o.lambda_temporal, (-1.0, 1.0)
            self.loss_temporal_A = temporal_loss(self.netG_A, self.real_A, self.fake_B, value_range=signed) * lam
            self.loss_temporal_B = temporal_loss(self.netG_B, self.real_B, self.fake_A, value_range=signed) * lam
            self.loss_G = self.loss_G + self.loss_temporal_A + self.loss_temporal_B

    def optimize_parameters(self):
        """One official training step, replayed from a CUDA graph when configure() turned that on; then, eagerly,
        the recipe's after-step work (EMA update, step clock) and the G loss into the epoch metric on the device."""
        if self.graph_step is not None:
            self.graph_step.step()
        else:
            self.train_step()
        self.recipe.after_step()
        self.observe_metric(self.loss_G)

    def train_step(self):
        """G_A and G_B first (Ds frozen), then D_A and D_B."""
        with self.autocast():
            self.forward_train()
        self.set_requires_grad([self.netD_A, self.netD_B], False)
        self.optimizer_G.zero_grad()
        self.backward_G()
        self.step(self.optimizer_G)
        self.set_requires_grad([self.netD_A, self.netD_B], True)
        self.optimizer_D.zero_grad()
        self.backward_D_A()
        self.backward_D_B()
        self.step(self.optimizer_D)


def batched_passes(opt):
    """Whether the training step stacks a network's inputs into one call (--batched_passes; None = auto)."""
    allowed = opt.norm in ("instance", "none") and opt.no_dropout
    wanted = opt.batched_passes
    if wanted and not allowed:
        raise ValueError(f"--batched_passes changes the results with --norm {opt.norm}"
                         f"{'' if opt.no_dropout else ' and dropout'}: batch statistics / dropout masks depend on "
                         f"what is stacked; drop the flag (the official call order is used then)")
    return allowed if wanted is None else bool(wanted)
