"""The display's flags, declared once (cyclegan/settings.py): the training page, visdom, Weights & Biases and
TensorBoard, with the official names and defaults. The options generate the flags from DisplaySettings (the
shared ones, SHARED, for testing too); build_sinks reads them from it."""
from dataclasses import dataclass

from ..settings import Settings, flag

DEFAULT_WANDB_PROJECT = "CycleGAN-and-pix2pix"  # the official --wandb_project_name
SHARED = ("display_winsize", "use_wandb", "wandb_project_name")  # the test command's too


@dataclass(frozen=True)
class DisplaySettings(Settings):
    display_freq: int = flag(400, "frequency of showing training results on screen", type=int)
    display_ncols: int = flag(4, "if positive, display all images in a single visdom panel with this many images "
                                 "per row", type=int)
    display_id: int = flag(1, "window id of the web display; 0 turns visdom off", type=int)
    display_server: str = flag("http://localhost", "visdom server of the web display")
    display_env: str = flag("", "visdom display environment name (empty: the experiment name)")
    display_port: int = flag(8097, "visdom port of the web display", type=int)
    display_start_server: bool = flag(False, "start a local visdom server if none answers (never done without "
                                             "this flag)")
    display_winsize: int = flag(256, "display window size for visdom and HTML", type=int)
    update_html_freq: int = flag(1000, "frequency of saving training results to html", type=int)
    print_freq: int = flag(100, "frequency of showing training results on console", type=int)
    no_html: bool = flag(False, "do not save intermediate training results to [checkpoints_dir]/[name]/web/")
    use_wandb: bool = flag(False, "log to Weights & Biases: training logs losses, visuals, learning rate, quality "
                                  "points and the options; testing logs the translated images (WANDB_MODE=offline "
                                  "keeps it on disk; needs `pip install .[wandb]`)")
    wandb_project_name: str = flag(DEFAULT_WANDB_PROJECT, "the W&B project of --use_wandb")
    use_tensorboard: bool = flag(False, "write losses, learning rate, step time, quality points and visuals for "
                                        "TensorBoard (needs `pip install .[tensorboard]`; watch with tensorboard "
                                        "--logdir CHECKPOINTS_DIR)")
    tensorboard_dir: str = flag(None, "where --use_tensorboard writes its event files (None: the run folder, "
                                      "CHECKPOINTS_DIR/NAME)")
