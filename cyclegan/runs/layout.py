"""The one place a run folder's file names are built and read back: `RunFolder(path)`.

    {label}_net_{name}.pth       official weight files (label: latest, an epoch, iter_N); name: G_A, D_B, T, ...
    {label}_net_{name}_ema.pth   averaged generator weights (--ema_decay), taken for use unless raw weights are asked
    {label}_state.pth            the full state a resume loads (runs/checkpoint.py)
    {phase}_opt.txt / .json      the options the run was started with (official text layout, and JSON to read back)
    train.lock                   the run lock (runs/run_folder.py)
    train_time.jsonl             wall-clock training seconds at every end-of-epoch save (training/loop.py)
    ablate_eval.jsonl            cyclegan-ablate's scores of the run's saved epochs (ablation/measure.py)
    ablate_launches.jsonl        how cyclegan-ablate started each training process: jobs, cores, load
    distill_eval.jsonl           cyclegan-distill's held-out scores of the student against its teacher

Every other module asks a RunFolder for a path instead of writing a name out, and writes and finds weight files
through it (write_weights, weights_for_use); only plain paths and dicts come back.
"""
import glob
import os
import re

from ..errors import MissingFileError
from ..io import atomic_save, read_json

LOCK = "train.lock"
_SAVED = re.compile(r"(?P<label>.+?)_(?:net_(?P<name>.+)|state)\.pth$")


class RunFolder:
    """The files of one run folder (`path`); nothing is read or created until asked."""

    def __init__(self, path):
        self.path = os.fspath(path)

    def __repr__(self):
        return f"RunFolder({self.path!r})"

    def file(self, name):
        return os.path.join(self.path, name)

    # ---- weights
    def net(self, label, name, ema=False):
        """{label}_net_{name}.pth (or its _ema twin)."""
        return self.file(f"{label}_net_{name}{'_ema' if ema else ''}.pth")

    def net_for_use(self, label, name, raw=False):
        """The file to load net `name` from for use (translation, export, evaluation): the averaged
        {label}_net_{name}_ema.pth when the run saved it and `raw` is False, else the raw official file."""
        ema = self.net(label, name, ema=True)
        return ema if not raw and os.path.isfile(ema) else self.net(label, name)

    def write_weights(self, label, state_dicts):
        """Write {label}_net_{name}.pth for every {name: state dict} (plain CPU tensors, readable by the official
        code), each atomically."""
        for name, sd in state_dicts.items():
            atomic_save({k: v.detach().cpu().contiguous() for k, v in sd.items()}, self.net(label, name))

    def weights_for_use(self, label, names, raw=False):
        """{name: the file net_for_use gives}, or MissingFileError naming the first one missing and what the
        folder holds."""
        paths = {name: self.net_for_use(label, name, raw) for name in names}
        for path in paths.values():
            if not os.path.isfile(path):
                held = ", ".join(sorted(os.listdir(self.path))) if os.path.isdir(self.path) else \
                    "none (no such folder)"
                raise MissingFileError(f"{path} not found: is --name/--checkpoints_dir/--epoch right? "
                                       f"Files there: {held}")
        return paths

    def has_net(self, label, name):
        """Whether the run saved net `name` under `label`, raw or averaged."""
        return os.path.isfile(self.net(label, name)) or os.path.isfile(self.net(label, name, ema=True))

    def generator_pairs(self):
        """Labels under which both G_A and G_B were saved (what cyclegan-eval scores), oldest file first."""
        found = []
        for path in sorted(glob.glob(self.file("*_net_G_A.pth")), key=os.path.getmtime):
            label = self.parse(path)[0]
            if os.path.isfile(self.net(label, "G_B")):
                found.append(label)
        return found

    # ---- full states
    def state(self, label):
        """{label}_state.pth."""
        return self.file(f"{label}_state.pth")

    def states(self):
        """Every full-state file in the folder (unordered)."""
        return glob.glob(self.file("*_state.pth"))

    # ---- what the folder holds
    def saved_files(self):
        """Weight files and full states (what makes a folder hold a run), sorted."""
        return sorted(glob.glob(self.file("*_net_*.pth")) + self.states())

    def labels(self):
        """The labels (`latest`, `3`, `iter_800`) of the weight files and full states."""
        return {self.parse(p)[0] for p in self.saved_files()}

    def numbered_epochs(self):
        """{epoch: [files]} of the end-of-epoch files N_net_X.pth and N_state.pth."""
        epochs = {}
        for path in self.saved_files():
            label = self.parse(path)[0]
            if label.isdigit():
                epochs.setdefault(int(label), []).append(path)
        return epochs

    @staticmethod
    def parse(path):
        """(label, net name or None for a full state) of a saved file's name; (None, None) for other files."""
        m = _SAVED.match(os.path.basename(path))
        return (m.group("label"), m.group("name")) if m else (None, None)

    # ---- the saved options
    def options_file(self, phase="train", text=False):
        """{phase}_opt.json (or the official {phase}_opt.txt)."""
        return self.file(f"{phase}_opt.{'txt' if text else 'json'}")

    def options(self, phase="train"):
        """The options the run saved as {phase}_opt.json, or None when it saved none."""
        return read_json(self.options_file(phase))

    def lock_file(self):
        return self.file(LOCK)

    # ---- logs of time and scores (JSON lines, appended)
    def train_time_log(self):
        """train_time.jsonl: {epoch, total_iters, train_seconds, machine} at every end-of-epoch save."""
        return self.file("train_time.jsonl")

    def ablate_eval_log(self):
        """ablate_eval.jsonl: the ablation's scores of the saved epochs."""
        return self.file("ablate_eval.jsonl")

    def distill_eval_log(self):
        """distill_eval.jsonl: {iteration, l1, psnr, seconds} of the student against the teacher on held-out images."""
        return self.file("distill_eval.jsonl")

    def ablate_launch_log(self):
        """ablate_launches.jsonl: one line per training process the ablation started (its share of the machine)."""
        return self.file("ablate_launches.jsonl")
