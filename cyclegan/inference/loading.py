"""cyclegan.load: what a path names (a CycleGAN run folder, an official pretrained latest_net_G.pth, a
fast-NST run, an exported .onnx file), loaded as a Translator.

Which generator of a CycleGAN run: the official datasets put paintings in A and photos in B
(vangogh2photo, monet2photo, ...), so photo2painting is G_B and painting2photo G_A; a run trained with
--direction BtoA has them the other way round (read from its train_opt.json). Its EMA weights
({epoch}_net_G_B_ema.pth) are used when they exist, unless raw_weights (RunFolder.net_for_use).
The architecture comes from the weights' keys and shapes; the run's saved options, where present, must agree.
"""
import os

from ..io import CheckpointError, load_state_dict_file
from ..models.saved_arch import arch_hint
from ..runs.layout import RunFolder
from .arch import build, describe_arch, identify, multiple_of
from .errors import MissingModelError, ModelFileError
from .onnx import OnnxNet
from .translator import Translator

DIRECTIONS = ("photo2painting", "painting2photo")
# --direction of compare, video and stereo: AtoB when the paintings are A and the photos B, as in the official datasets
FLAG_DIRECTIONS = {"AtoB": "photo2painting", "BtoA": "painting2photo"}


def generator_name(direction, train_direction="AtoB"):
    """'G_A' or 'G_B': the generator of a CycleGAN run that translates `direction` (see the module docstring)."""
    if direction not in DIRECTIONS:
        raise ModelFileError(f"direction {direction!r} is not one of: {', '.join(DIRECTIONS)}")
    photo2painting = "G_B" if train_direction != "BtoA" else "G_A"
    return photo2painting if direction == "photo2painting" else {"G_A": "G_B", "G_B": "G_A"}[photo2painting]


def saved_settings(folder):
    """The run's train_opt.json as a dict ({} when absent or not a JSON object)."""
    try:
        saved = RunFolder(folder).options()
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def resolve_source(source, checkpoints_dir=None):
    """The file or folder `source` names: itself, else CHECKPOINTS_DIR/source."""
    path = os.fspath(source)
    if os.path.exists(path):
        return path
    if checkpoints_dir and os.path.exists(os.path.join(checkpoints_dir, path)):
        return os.path.join(checkpoints_dir, path)
    where = f" (nor in {checkpoints_dir})" if checkpoints_dir else ""
    raise MissingModelError(f"{path}: no such run folder, .pth or .onnx file{where}; check the name and "
                            f"--checkpoints_dir (runs come from cyclegan-train, `cyclegan-fast-nst train` and "
                            f"cyclegan-export)")


def run_files(run_dir, direction, epoch="latest", raw=False, generator=None):
    """(weights file, the other direction's file or None, direction or None) of a run folder."""
    run = RunFolder(run_dir)
    if generator is None:
        if run.has_net(epoch, "G_A") and run.has_net(epoch, "G_B"):
            generator = generator_name(direction, saved_settings(run_dir).get("direction", "AtoB"))
        elif run.has_net(epoch, "G"):
            generator, direction = "G", None
        else:
            have = sorted(os.listdir(run_dir))
            names = [os.path.basename(run.net(epoch, n)) for n in ("G_A", "G_B", "G", "T")]
            raise MissingModelError(f"{run_dir}: no {names[0]} / {names[1]} (a CycleGAN run), "
                                 f"{names[2]} (a pretrained generator) or {names[3]} "
                                 f"(a fast-NST run: `cyclegan-fast-nst train`) there; files: "
                                 f"{', '.join(have[:12]) or 'none'}{' ...' if len(have) > 12 else ''}. Check the name "
                                 f"and --epoch")
    path = run.net_for_use(epoch, generator, raw)
    if not os.path.isfile(path):
        have = sorted(os.listdir(run_dir))
        raise MissingModelError(f"{path} not found: check the name, --checkpoints_dir, --epoch and the generator "
                             f"(files there: {', '.join(have[:12]) or 'none'}{' ...' if len(have) > 12 else ''})")
    other = {"G_A": "G_B", "G_B": "G_A"}.get(generator)
    back = run.net_for_use(epoch, other, raw) if other else None
    back = back if back and os.path.isfile(back) else None
    return path, back, direction if generator in ("G_A", "G_B") else None


def load_weights(path, hint=None):
    """(eval-mode module on the CPU, info) for a .pth weights file."""
    try:
        state_dict = load_state_dict_file(path)
    except CheckpointError as e:
        raise ModelFileError(str(e)) from None
    info = identify(state_dict, path, hint)
    net = build(info, state_dict, path)
    info.update(multiple=multiple_of(info), description=describe_arch(info), files=[path],
                ema=path.endswith("_ema.pth"))
    return net, info


def load(source, direction="photo2painting", epoch="latest", device="auto", raw_weights=False, amp=None,
         tile=None, channels_last=None, compile=None, batch_size=4, memory_budget_mb=None, checkpoints_dir=None,
         generator=None, arch=None, back=False, bf16_math=None):
    """A Translator for `source`: a CycleGAN run folder, a folder with an official {epoch}_net_G.pth, a .pth
    generator file, a fast-NST run folder or .pth, or an exported .onnx file (run by ONNX Runtime).

    direction: photo2painting or painting2photo, for runs with two generators (others have one direction).
    epoch: which saved weights of a run. raw_weights: the raw weights even when EMA weights exist.
    device: auto (a GPU when there is one), cpu, cuda, cuda:N. amp: None for the device's default (bf16 on GPUs
    and CPUs with native bf16), 'none' for the official float32 math, 'bf16', 'fp16'.
    tile: None (tiles when an image would not fit the memory budget), 0 (never), N (tiles of N pixels).
    generator: a run's file by name instead of direction ('G_A', 'G_B', 'G'). arch: architecture values the
    weights must have (netG, ngf, norm, ...): a mismatch is an error. back: also load the other direction's
    generator (Translator.with_cycle). bf16_math: how a CPU runs bf16 (Translator; None: the fastest).
    Every problem with the source is a ModelFileError naming the file."""
    path = resolve_source(source, checkpoints_dir)
    options = dict(device=device, amp=amp, tile=tile, channels_last=channels_last, compile=compile,
                   batch_size=batch_size, memory_budget_mb=memory_budget_mb, bf16_math=bf16_math)
    if os.path.isdir(path):
        fast = RunFolder(path).net(epoch, "T")
        if generator is None and os.path.isfile(fast):
            net, info = load_weights(fast)
            return Translator(net, {**info, "source": path}, **options)
        hint = {**arch_hint(saved_settings(path)), **(arch or {})}
        weights, back_file, direction = run_files(path, direction, epoch, raw_weights, generator)
        net, info = load_weights(weights, hint)
        back_net = load_weights(back_file, hint)[0] if back and back_file else None
        files = info["files"] + ([back_file] if back_net is not None else [])
        return Translator(net, {**info, "source": path, "direction": direction, "files": files}, back=back_net,
                          **options)
    if path.lower().endswith(".onnx"):
        net = OnnxNet(path)
        return Translator(net, {**net.info, "source": path, "files": [path]}, **options)
    net, info = load_weights(path, arch)
    return Translator(net, {**info, "source": path}, **options)


def load_with_flags(run_dir, epoch="latest", direction="AtoB", model_suffix=None, device="auto", **kwargs):
    """load() as cyclegan-compare, -video and -stereo name a run's generator: --direction AtoB|BtoA (see
    FLAG_DIRECTIONS) and --model_suffix ({epoch}_net_G{suffix}.pth instead, e.g. '' for latest_net_G.pth)."""
    return load(run_dir, FLAG_DIRECTIONS[direction], epoch, device,
                generator=None if model_suffix is None else "G" + model_suffix, **kwargs)
