"""Options of cyclegan-distill (a small student generator trained to reproduce a teacher generator) and of its
benchmark (`cyclegan-benchmark distill`); see docs/distill.md. The run folder is CHECKPOINTS_DIR/NAME, with the
options saved there as distill_opt.{txt,json}."""
import argparse
import os

from cyclegan.models.generators import GENERATORS
from cyclegan.runs.layout import RunFolder

from .base_options import (Options, add_c2st_repeats_option, add_checkpoints_dir_option, add_device_option,
                           add_seed_option, apply_seed_rule, check_lowest)

PHASE = "distill"  # CHECKPOINTS_DIR/NAME/distill_opt.{txt,json}
DEFAULT_STUDENT = "mobile_resnet_9blocks"
DEFAULT_REUSE = 4


class DistillOptions(Options):
    prog = "cyclegan-distill"
    description = ("Distil a trained generator (the teacher) into a small student generator for fast CPU "
                   "inference: the student learns to reproduce the teacher's outputs on the teacher's input images.")
    formatter = argparse.ArgumentDefaultsHelpFormatter

    def initialize(self, parser):
        p = parser
        p.add_argument("--teacher", required=True,
                       help="the teacher's generator weights file, e.g. checkpoints/NAME/latest_net_G_B.pth; its "
                            "architecture is read from its keys")
        p.add_argument("--dataroot", required=True,
                       help="the teacher's input images: a dataset folder (its train{--domain} subfolder is used) "
                            "or a plain folder of images")
        p.add_argument("--domain", default="B", choices=("A", "B"),
                       help="which domain the teacher translates FROM: DATAROOT/train{domain} feeds training and "
                            "DATAROOT/test{domain} the held-out scores (B: the photos of vangogh2photo, for G_B)")
        p.add_argument("--eval_dir", default=None,
                       help="held-out images scored against the teacher (default: DATAROOT/test{domain} when it "
                            "exists)")
        p.add_argument("--eval_images", type=int, default=16, help="at most this many held-out images")
        p.add_argument("--eval_freq", type=int, default=250,
                       help="iterations between held-out scores (0: only before the first and after the last)")
        p.add_argument("--final_c2st", action=argparse.BooleanOptionalAction, default=True,
                       help="at the end, a C2ST of the student's held-out outputs against the teacher's (needs at "
                            "least 10 held-out images; 0.5: a classifier cannot tell them apart)")
        add_c2st_repeats_option(p)
        p.add_argument("--name", required=True, help="run name: the student lives in CHECKPOINTS_DIR/NAME")
        add_checkpoints_dir_option(p)
        p.add_argument("--netG", default=DEFAULT_STUDENT, choices=GENERATORS, help="the student's architecture")
        p.add_argument("--ngf", type=int, default=16, help="the student's channels at full resolution")
        p.add_argument("--load_size", type=int, default=256,
                       help="images are scaled so their shorter side is this many pixels (the scale the teacher "
                            "works at) before cropping; the held-out images are scored at this size")
        p.add_argument("--crop_size", type=int, default=128, help="square training crops, in pixels")
        p.add_argument("--batch_size", type=int, default=4, help="crops per iteration")
        p.add_argument("--n_iters", type=int, default=3000,
                       help="training iterations at the starting rate (3,000 with each target reused 4x came as "
                            "close to a trained teacher as 2,400 with fresh targets, in half the time or less; "
                            "docs/distill.md)")
        p.add_argument("--n_iters_decay", type=int, default=0,
                       help="iterations after --n_iters over which the rate falls linearly to zero, as CycleGAN's "
                            "--n_epochs_decay (0: a constant rate)")
        p.add_argument("--reuse_targets", type=int, default=None, metavar="R",
                       help=f"R: iterations each teacher translation trains, so the teacher translates batch_size "
                            f"/ R fresh crops per iteration (its forward is most of an iteration on CPUs, above all "
                            f"without native bf16). None: {DEFAULT_REUSE} (1 with --lambda_feat), or the resumed run's own")
        p.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (betas 0.5, 0.999, as CycleGAN)")
        p.add_argument("--lambda_perc", type=float, default=0.0,
                       help="weight of the VGG19 perceptual term beside the L1 (0: L1 alone); needs --vgg_weights")
        p.add_argument("--vgg_weights", default=None,
                       help="VGG19 weights for --lambda_perc: a local .pth file, or 'random' (tests only); "
                            "default: torchvision's ImageNet file from the torch cache (never downloaded)")
        p.add_argument("--lambda_feat", type=float, default=0.0,
                       help="weight of feature distillation: the MSE between the teacher's activations and the "
                            "student's, mapped by learned 1x1 convs, after the downsampling and across the residual "
                            "blocks (ResNet-layout teacher and student; 0: off)")
        p.add_argument("--lambda_gan", type=float, default=0.0,
                       help="weight of an lsgan term from a PatchGAN discriminator that tells the student's outputs "
                            "from real images of the teacher's output domain (--real_dir; 0: off)")
        p.add_argument("--real_dir", default=None,
                       help="real images of the domain the teacher translates INTO, for --lambda_gan (default: "
                            "DATAROOT/train{the other domain}: the paintings, trainA, for --domain B)")
        p.add_argument("--real_eval_dir", default=None,
                       help="held-out real images of the teacher's output domain: at the end (with --final_c2st) the "
                            "C2ST of the student's and of the teacher's held-out translations against them "
                            "(default: DATAROOT/test{the other domain} when it exists)")
        p.add_argument("--ndf", type=int, default=64, help="the discriminator's first-layer channels (--lambda_gan)")
        p.add_argument("--print_freq", type=int, default=50, help="iterations between progress lines")
        p.add_argument("--save_freq", type=int, default=250, help="iterations between checkpoints")
        p.add_argument("--continue_train", action="store_true",
                       help="resume CHECKPOINTS_DIR/NAME exactly where it stopped")
        p.add_argument("--amp", default=None, choices=("none", "bf16"),
                       help="mixed precision (default: bf16 on GPU and on CPUs with native bf16, none elsewhere)")
        add_device_option(p, "trains")
        add_seed_option(p, "the crops and the student's initial weights", resumes=True)
        return p

    def finish(self, opt):
        p = self.parser
        folder = RunFolder(os.path.join(opt.checkpoints_dir, opt.name))
        saved, started = folder.options(PHASE), os.path.isfile(folder.state("latest"))
        if opt.reuse_targets is None:  # a resume keeps the run's pairs unless told otherwise
            # runs from before the flag took fresh crops every iteration: 1; the feature term needs the teacher's
            # activations of every batch: 1
            opt.reuse_targets = ((saved or {}).get("reuse_targets", 1) if opt.continue_train
                                 else 1 if opt.lambda_feat > 0 else DEFAULT_REUSE)
        if opt.reuse_targets > 1 and opt.lambda_feat > 0:
            p.error(f"--lambda_feat needs the teacher's activations of every batch, which --reuse_targets "
                    f"{opt.reuse_targets} does not keep: drop --reuse_targets or give --reuse_targets 1")
        check_lowest(p, opt, {"n_iters": 1, "n_iters_decay": 0, "crop_size": 16, "load_size": opt.crop_size, "batch_size": 1,
                              "reuse_targets": 1, "ngf": 1, "ndf": 1, "print_freq": 1, "save_freq": 1, "eval_freq": 0,
                              "eval_images": 1})
        if opt.crop_size % 4 or opt.load_size % 4:
            p.error(f"--crop_size and --load_size must be multiples of 4 (two stride-2 downsamplings), got "
                    f"{opt.crop_size} and {opt.load_size}")
        if opt.lr <= 0:
            p.error(f"--lr must be positive, got {opt.lr}")
        check_lowest(p, opt, dict.fromkeys(("lambda_perc", "lambda_feat", "lambda_gan"), 0))
        if not os.path.isdir(opt.dataroot):
            p.error(f"--dataroot {opt.dataroot}: not a folder")
        train_dir = os.path.join(opt.dataroot, f"train{opt.domain}")
        opt.photo_dir = train_dir if os.path.isdir(train_dir) else opt.dataroot
        test_dir = os.path.join(opt.dataroot, f"test{opt.domain}")
        if opt.eval_dir is None and os.path.isdir(test_dir):
            opt.eval_dir = test_dir
        elif opt.eval_dir is not None and not os.path.isdir(opt.eval_dir):
            p.error(f"--eval_dir {opt.eval_dir}: not a folder")
        other = "A" if opt.domain == "B" else "B"
        if opt.real_dir is None and opt.lambda_gan > 0:
            opt.real_dir = os.path.join(opt.dataroot, f"train{other}")
            if not os.path.isdir(opt.real_dir):
                p.error(f"--lambda_gan needs real images of the teacher's output domain: {opt.real_dir} is not a "
                        f"folder; pass --real_dir DIR")
        elif opt.real_dir is not None and not os.path.isdir(opt.real_dir):
            p.error(f"--real_dir {opt.real_dir}: not a folder")
        if opt.real_eval_dir is None and os.path.isdir(os.path.join(opt.dataroot, f"test{other}")):
            opt.real_eval_dir = os.path.join(opt.dataroot, f"test{other}")
        elif opt.real_eval_dir is not None and not os.path.isdir(opt.real_eval_dir):
            p.error(f"--real_eval_dir {opt.real_eval_dir}: not a folder")
        if opt.continue_train and (saved is None or not started):
            p.error(f"--continue_train: {folder.path} holds no distillation checkpoint to resume")
        if started and not opt.continue_train:
            p.error(f"{folder.path} already holds a distillation run: pass --continue_train to resume it, "
                    f"or choose another --name (nothing was overwritten)")
        if opt.continue_train:
            changed = [f"--{k} {getattr(opt, k)} (the run has {saved.get(k)})" for k in ("netG", "ngf")
                       if saved.get(k) is not None and saved.get(k) != getattr(opt, k)]
            if changed:
                p.error(f"--continue_train: the student's architecture is the run's own; drop {', '.join(changed)}")
            # the feature maps and the discriminator live in the run's state: they cannot appear or vanish
            switched = [f"--{k} {getattr(opt, k):g} (the run has {saved.get(k, 0.0):g})"
                        for k in ("lambda_feat", "lambda_gan")
                        if (saved.get(k, 0.0) > 0) != (getattr(opt, k) > 0)]
            if opt.lambda_gan > 0 and saved.get("ndf", opt.ndf) != opt.ndf:
                switched.append(f"--ndf {opt.ndf} (the run has {saved['ndf']})")
            if switched:
                p.error(f"--continue_train: the run's losses decide which networks it holds; drop or match "
                        f"{', '.join(switched)}")
        return apply_seed_rule(opt, saved if opt.continue_train else None)


class DistillBenchmarkOptions(Options):
    prog = "cyclegan-benchmark distill"
    description = ("A teacher generator against its distilled student on this CPU: GMACs at 256 px, images/s at "
                   "256 px (float32, and bf16 where the CPU has it natively), frames/s at 640x360, the speed ratio.")
    formatter = argparse.ArgumentDefaultsHelpFormatter

    def initialize(self, parser):
        p = parser
        p.add_argument("--teacher", required=True, help="the teacher: a generator .pth or a run folder")
        p.add_argument("--student", required=True,
                       help="the student: a generator .pth or a cyclegan-distill run folder")
        p.add_argument("--size", type=int, default=256, help="square image side for GMACs and images/s")
        p.add_argument("--frame", default="640x360", help="video frame WIDTHxHEIGHT for frames/s")
        p.add_argument("--batch", type=int, default=1, help="images per forward for images/s (video runs 1)")
        p.add_argument("--repeats", type=int, default=5, help="timed forwards per figure; the median is reported")
        p.add_argument("--warmup", type=int, default=2, help="untimed forwards first")
        p.add_argument("--precisions", default=None,
                       help="comma-separated from fp32, bf16 (default: fp32, plus bf16 where the CPU has native bf16)")
        p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave torch's default)")
        p.add_argument("--compile", action="store_true",
                       help="run both through torch.compile (inductor; compiled during the warm-up, which must be "
                            "at least 1)")
        return p

    def finish(self, opt):
        p = self.parser
        try:
            w, h = (int(v) for v in opt.frame.lower().split("x"))
        except ValueError:
            p.error(f"--frame {opt.frame!r}: give WIDTHxHEIGHT, e.g. 640x360")
        if min(w, h, opt.size) < 16 or opt.batch < 1 or opt.repeats < 1 or opt.warmup < 0:
            p.error("--size and --frame sides must be at least 16, --batch and --repeats at least 1")
        if opt.compile and opt.warmup < 1:
            p.error("--compile needs --warmup 1 or more: the first call compiles, and is not timed")
        opt.frame_wh = (w, h)
        if opt.precisions is not None:
            opt.precisions = [x.strip() for x in opt.precisions.split(",") if x.strip()]
            bad = [x for x in opt.precisions if x not in ("fp32", "bf16")]
            if bad or not opt.precisions:
                p.error(f"--precisions: give fp32 and/or bf16, got {opt.precisions}")
        for flag in ("teacher", "student"):
            if not os.path.exists(getattr(opt, flag)):
                p.error(f"--{flag} {getattr(opt, flag)}: no such file or folder")
        return opt
