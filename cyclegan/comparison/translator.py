"""The CycleGAN side of the comparison: load a run's photo->painting generator (and, for a two-generator
run, the painting->photo one for the cycle-reconstruction error) and translate one photo."""
import os

import torch

from ..errors import MissingFileError
from ..io import load_state_dict_file
from ..models.base_model import load_official_state_dict
from ..models.files import net_file
from ..models.generators import define_G
from ..models.inference import CompiledNet, compile_for_inference


def generator_files(run_dir, epoch, direction="AtoB", model_suffix=None, raw=False):
    """(forward file, backward file or None) for photo->painting; the averaged (EMA) files where the run
    saved them, unless `raw` (models/files.py: net_file).

    The official datasets put paintings in A and photos in B, so with AtoB the photo->painting generator
    of a CycleGAN run is G_B. `model_suffix` picks a file as in testing (e.g. '' for a pretrained
    latest_net_G.pth, '_B'); a single-generator run has no backward file.
    """
    def path(suffix):
        return net_file(run_dir, epoch, f"G{suffix}", raw)

    if model_suffix is None:
        if os.path.isfile(path("_A")) and os.path.isfile(path("_B")):
            fwd, bwd = ("_B", "_A") if direction == "AtoB" else ("_A", "_B")
            return path(fwd), path(bwd)
        model_suffix = ""
    fwd = path(model_suffix)
    if not os.path.isfile(fwd):
        have = sorted(f for f in os.listdir(run_dir)) if os.path.isdir(run_dir) else []
        raise MissingFileError(f"{fwd} not found: check --name/--checkpoints_dir/--epoch/--model_suffix "
                                f"(files there: {', '.join(have) or 'none'})")
    other = {"_A": "_B", "_B": "_A"}.get(model_suffix)
    return fwd, (path(other) if other and os.path.isfile(path(other)) else None)


class Translator:
    """photo -> painting with a CycleGAN generator; images are (1,3,H,W) tensors in [0, 1]."""

    def __init__(self, run_dir, arch, epoch="latest", direction="AtoB", model_suffix=None, device="cpu",
                 compile=None, compile_backend="inductor", raw=False):
        """compile: torch.compile the generators (None: on for CUDA), once per shape, via warm().
        raw: the raw generators even where the run saved averaged (EMA) ones."""
        self.device = torch.device(device)
        fwd, bwd = generator_files(run_dir, epoch, direction, model_suffix, raw)
        self.files = (fwd, bwd)
        self.G = self._load(fwd, arch)
        self.G_back = self._load(bwd, arch) if bwd else None
        if compile_for_inference(self.device.type, compile):
            self.G = CompiledNet(self.G, compile_backend)
            self.G_back = CompiledNet(self.G_back, compile_backend) if self.G_back is not None else None

    def warm(self, photo):
        """Compile for this photo's shape now, so the timed call does not include compilation."""
        for net in (self.G, self.G_back):
            if isinstance(net, CompiledNet):
                net.warm(photo.to(self.device))

    @property
    def compiled(self):
        return [n for n in (self.G, self.G_back) if isinstance(n, CompiledNet)]

    @property
    def compile_seconds(self):
        return sum(n.compile_seconds for n in self.compiled)

    def _load(self, path, arch):
        net = define_G(3, 3, arch.get("ngf", 64), arch.get("netG", "resnet_9blocks"), arch.get("norm", "instance"),
                       not arch.get("no_dropout", True))
        load_official_state_dict(net, load_state_dict_file(path), path)
        return net.to(self.device).eval()

    @torch.no_grad()
    def __call__(self, photo):
        """Returns (painting, cycle reconstruction L1 in [0, 1] units or None)."""
        x = photo.to(self.device) * 2 - 1
        y = self.G(x)
        rec = None
        if self.G_back is not None:
            rec = (self.G_back(y) - x).abs().mean().item() / 2
        return ((y + 1) / 2).clamp(0, 1).cpu(), rec
