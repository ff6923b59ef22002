"""A run's generator architecture as its saved options (CHECKPOINTS/NAME/train_opt.json) record it, so users
never repeat --netG/--ngf/--norm to load a run: cyclegan-test and cyclegan-eval take it from there, and
cyclegan.load (cyclegan/inference) checks it against what the weights' shapes say."""
# what defines the saved networks; the last three are --model cut's (its generator's norm is --normG)
ARCH_KEYS = ("netG", "ngf", "norm", "no_dropout", "input_nc", "output_nc", "normG", "no_antialias", "no_antialias_up")


def arch_hint(saved):
    """The generator architecture a run's saved options (a dict) record, in the keys inference/arch.py infers:
    a CUT run's --normG is its generator's norm."""
    hint = {k: v for k, v in saved.items() if k in ARCH_KEYS}
    if "normG" in hint:
        hint["norm"] = hint.pop("normG")
    return hint
