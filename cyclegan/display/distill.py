"""What a distillation run shows (cyclegan-distill writes it after every save): web/index.html with the loss plot,
the held-out L1 to the teacher against iterations, the final C2ST rows, and for a few held-out images the input,
the teacher's translation and the student's at this iteration."""
import os

from ..images import save_image
from .html import write_page
from .plot import loss_svg

SAMPLES = 4  # held-out images shown


def write_distill_page(save_dir, name, student, heldout, counters, scores):
    """scores: the rows of the run's distill_eval.jsonl so far."""
    web = os.path.join(save_dir, "web")
    it = counters["iteration"]
    items = []
    if heldout is not None:
        n = min(SAMPLES, len(heldout))
        outs = heldout.student_outputs(student)[:n]
        for i in range(n):
            src, tea = (os.path.join(web, "images", f"heldout{i}_{what}.png") for what in ("input", "teacher"))
            if not os.path.isfile(tea):
                save_image((heldout.x[i] + 1) / 2, src)
                save_image(((heldout.target[i] + 1) / 2).clamp(0, 1), tea)
            dst = os.path.join(web, "images", f"iter{it:07d}_heldout{i}.png")
            save_image(outs[i], dst)
            items += [(src, f"input {i}"), (tea, "teacher"), (dst, f"student, iteration {it}")]
    h = counters["history"]
    svgs = [("Losses", loss_svg(h["iter"], {k: v for k, v in h.items() if k != "iter"},
                                title="Distillation losses", xlabel="iteration"))]
    curve = [r for r in scores if "l1" in r]
    if curve:
        svgs.append(("Held-out L1 to the teacher", loss_svg([r["iteration"] for r in curve],
                                                            {"l1": [r["l1"] for r in curve]},
                                                            title="Student vs teacher, held-out L1", xlabel="iteration")))
    finals = [(k, f"{r[k]:.3f}") for r in scores for k in ("c2st_vs_teacher", "c2st_vs_real_student",
                                                           "c2st_vs_real_teacher") if k in r]
    write_page(os.path.join(web, "index.html"), f"Distillation: {name}", sections=[("Held-out images", items)],
               svgs=svgs, tables=[("Final scores", finals)] if finals else (), notes=[f"iteration {it}"],
               per_row=3)
