"""The distillation loss: L1 between the student's and the teacher's outputs on the same crops, plus
lambda_perc times a perceptual term (mean L1 between VGG feature maps of the two outputs) when asked."""
import torch.nn.functional as F

from ..nst import load_extractor

PERC_LAYERS = ("relu1_2", "relu2_2", "relu3_2")  # low and mid layers: texture and strokes, not content alone


class DistillLoss:
    """total, {"total", "l1", "perc"} for student and teacher outputs in [-1, 1]. The VGG is built only when
    lambda_perc > 0 (its weights: a local file, see cyclegan.nst.backbones; 'random' for tests)."""

    def __init__(self, lambda_perc=0.0, vgg_weights=None, device="cpu"):
        self.lambda_perc = float(lambda_perc)
        self.vgg = None
        if self.lambda_perc > 0:
            self.vgg = load_extractor("vgg19", list(PERC_LAYERS), "max", vgg_weights, device)
            for p in self.vgg.parameters():
                p.requires_grad_(False)

    def names(self):
        return ("total", "l1") + (("perc",) if self.vgg is not None else ())

    def __call__(self, student, teacher):
        student, teacher = student.float(), teacher.float()
        l1 = F.l1_loss(student, teacher)
        parts = {"l1": l1.detach()}
        total = l1
        if self.vgg is not None:
            fs, ft = self.vgg((student + 1) / 2), self.vgg((teacher + 1) / 2)
            perc = sum(F.l1_loss(fs[k].float(), ft[k].float()) for k in PERC_LAYERS) / len(PERC_LAYERS)
            total = total + self.lambda_perc * perc
            parts["perc"] = perc.detach()
        parts["total"] = total.detach()
        return total, parts
