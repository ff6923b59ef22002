"""A run's generator architecture as its saved options (CHECKPOINTS/NAME/train_opt.json) record it, so users
never repeat --netG/--ngf/--norm to load a run: cyclegan-test and cyclegan-eval take it from there, and
cyclegan.load (cyclegan/inference) checks it against what the weights' shapes say."""
ARCH_KEYS = ("netG", "ngf", "norm", "no_dropout", "input_nc", "output_nc")  # what defines the saved networks
