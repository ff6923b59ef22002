"""The run folder's flags, declared once with the official names and defaults: where a run lives and which of
its saved epochs to load (RunSettings), and when and how training saves and resumes it (SaveSettings)."""
from dataclasses import dataclass

from ..settings import Settings, flag

DEFAULT_CHECKPOINTS_DIR = "./checkpoints"


@dataclass(frozen=True)
class RunSettings(Settings):
    name: str = flag("experiment_name", "name of the experiment; decides where samples and models are stored",
                     type=str)
    checkpoints_dir: str = flag(DEFAULT_CHECKPOINTS_DIR, "models are saved here", type=str)
    epoch: str = flag("latest", "which epoch to load? set to latest to use latest cached model", type=str)
    load_iter: int = flag(0, "which iteration to load? if > 0, load iter_{load_iter}", type=int)
    suffix: str = flag("", "customized suffix: opt.name = opt.name + suffix", type=str)


@dataclass(frozen=True)
class SaveSettings(Settings):
    save_latest_freq: int = flag(5000, "frequency of saving the latest results", type=int)
    save_epoch_freq: int = flag(5, "frequency of saving checkpoints at the end of epochs", type=int)
    save_by_iter: bool = flag(False, "whether saves model by iteration")
    continue_train: bool = flag(False, "continue training: load the latest model")
    epoch_count: int = flag(1, "the starting epoch count (with --continue_train it comes from the checkpoint)",
                            type=int)
    overwrite: bool = flag(False, "train into a --name that already holds a run: the old run (or the later epochs "
                           "a --continue_train --epoch_count start would overwrite) is moved to NAME.old-<timestamp>")
    resume_from: str = flag(None, "with --continue_train: resume from this full-state file (e.g. an older "
                            "N_state.pth when latest_state.pth is damaged; by default the newest readable one is "
                            "used)", type=str)
    phase: str = flag("train", "train, val, test, etc", type=str)
