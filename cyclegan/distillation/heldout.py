"""Held-out images scored against the teacher: how close the student's translation is to the teacher's, as mean
L1 (in [0, 1] units) and PSNR (dB, peak 1), over square centre crops that training never sees, and at the end a C2ST
(metrics/c2st.py: can a small CNN tell the student's outputs from the teacher's? 0.5 = no), and against held-out
real images of the teacher's output domain for both student and teacher (painting_c2st: the quality evaluation of
training and the ablation, metrics/evaluate.py, so the teacher's figure is the one its own run reports). The
teacher's outputs are computed once; each score is appended to the run's distill_eval.jsonl (runs.layout.RunFolder)."""
import json
import os

import torch
from PIL import Image

from ..data.image_folder import make_dataset
from ..errors import MissingFileError
from ..images import load_rgb, to_tensor
from ..io import atomic_write_text
from ..metrics.c2st import DEFAULT_FOLDS, c2st, needed_per_class
from ..metrics.evaluate import load_heldout, score, translate
from .teacher import teacher_output


def center_crop(path, size):
    """(3, size, size) in [0, 1]: the shorter side resized to `size`, the centre square cut out."""
    img = load_rgb(path)
    w, h = img.size
    s = size / min(w, h)
    img = img.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BICUBIC)
    w, h = img.size
    x, y = (w - size) // 2, (h - size) // 2
    return to_tensor(img.crop((x, y, x + size, y + size)))


class HeldOut:
    """Up to `limit` images of `folder` at `size` px, with the teacher's translations of them."""

    def __init__(self, folder, size, teacher, device, limit=16, batch=4):
        paths = make_dataset(folder)[:limit] if os.path.isdir(folder) else []
        if not paths:
            raise MissingFileError(f"--eval_dir {folder}: no images there (held-out images of the teacher's input "
                                   f"domain, e.g. DATAROOT/testB)")
        self.paths, self.device, self.batch = paths, device, batch
        self.x = torch.stack([center_crop(p, size) for p in paths]) * 2 - 1
        self.target = torch.cat([teacher_output(teacher, x) for x in self._batches()]).cpu()

    def __len__(self):
        return len(self.paths)

    def _batches(self):
        return [self.x[i:i + self.batch].to(self.device) for i in range(0, len(self.x), self.batch)]

    def score(self, student):
        """{"l1", "psnr"} of the student's outputs against the teacher's."""
        a, b = self.student_outputs(student), ((self.target + 1) / 2).clamp(0, 1)
        mse = ((a - b) ** 2).flatten(1).mean(1).clamp_min(1e-10)
        return {"l1": float((a - b).abs().mean()), "psnr": float((10 * torch.log10(1 / mse)).mean())}

    def student_outputs(self, student):
        """The student's translations of the held-out images, in [0, 1] on the CPU (eval mode, float32)."""
        was = student.training
        student.eval()
        try:
            with torch.no_grad():
                out = torch.cat([student(x).float() for x in self._batches()]).cpu()
        finally:
            student.train(was)
        return ((out + 1) / 2).clamp(0, 1)

    def c2st(self, student, seed=0, repeats=1):
        """The C2ST of the student's outputs against the teacher's (a C2STResult; `repeats` cross-validations
        averaged), or None with fewer held-out images than its folds need."""
        if len(self) < needed_per_class(DEFAULT_FOLDS):
            return None
        return c2st(((self.target + 1) / 2).clamp(0, 1), self.student_outputs(student), seed=seed, repeats=repeats)


def painting_c2st(real_dir, photo_dir, size, nets, device="cpu", limit=None, seed=0, repeats=1):
    """{name: C2ST of net(held-out photos) against the held-out real images, or None when too few} for each
    float32 generator in `nets`, scored as training's quality curves score G_B (metrics.evaluate, longest side
    `size`, seed `seed`, the mean of `repeats` cross-validations)."""
    heldout = load_heldout(real_dir, photo_dir, size=size, max_images=limit)
    return {name: score(translate(None, net, heldout, device), heldout, seed=seed,
                        c2st_settings={"repeats": repeats})["c2st_A"]
            for name, net in nets.items()}


def append_score(path, row):
    """Append one JSON line to `path` atomically (the whole file rewritten: a stop mid-write leaves the old one)."""
    old = open(path, encoding="utf-8").read() if os.path.isfile(path) else ""
    atomic_write_text(path, old + json.dumps(row, sort_keys=True) + "\n")


def read_scores(path):
    """The rows of a distill_eval.jsonl ([] when absent)."""
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]

