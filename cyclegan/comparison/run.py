"""One comparison run from one settings object: build both methods, run them, measure, write the page."""
import os
from dataclasses import dataclass, field

import torch

from ..errors import MissingFileError
from ..images import list_images, load_image
from ..inference import load
from ..inference.compiled import describe_compile
from ..inference.loading import load_with_flags
from ..metrics.c2st import C2STError, c2st, needed_per_class
from ..metrics import NOT_COMPUTED, InceptionFeatures, InceptionWeightsMissing, fid_kid_from_features, painting_classifier
from ..nst import Stylizer, resolve_device
from .harness import METHODS, Comparison, load_photo
from .report import aggregate, image_metrics, write_outputs


def collect_paintings(paths):
    out = []
    for p in paths:
        out += [str(x) for x in list_images(p)] if os.path.isdir(p) else [str(p)]
    if not out:
        raise MissingFileError(f"no paintings found in {', '.join(map(str, paths))}")
    return out


STYLE_MODES = ("per_image", "domain", "both")


@dataclass
class CompareSettings:
    """Everything one comparison needs, as plain values; cyclegan-compare fills it from its options.

    arch: generator architecture values the weights must have (netG, ngf, norm; the rest is read from them).
    gatys: the Stylizer arguments under 'stylizer', the stylize() arguments under 'run', and the paintings'
    longest side under 'style_size'.
    heldout: paintings for FID/KID and the ceiling (None: the style paintings).
    fast_nst_dir: a fast-NST run folder (cyclegan-fast-nst train) for the third method, or None.
    cut_dir: a CUT run folder (cyclegan-train --model cut, photo -> painting) for a fourth method, or None."""
    name: str
    run_dir: str
    photos_dir: str
    styles: list
    out_dir: str
    arch: dict = field(default_factory=dict)
    gatys: dict = field(default_factory=lambda: {"stylizer": {}, "run": {}})
    num: int = 10
    image_size: int = 256
    style_mode: str = "both"
    epoch: str = "latest"
    direction: str = "AtoB"
    model_suffix: str | None = None
    dataroot: str | None = None
    heldout: str | None = None
    inception_weights: str | None = None
    classifier_settings: dict | None = None
    seed: int = 0
    device: str = "auto"
    overwrite: bool = False
    fast_nst_dir: str | None = None
    cut_dir: str | None = None
    reference_dir: str | None = None  # another model's outputs on the same photos: a reference row
    raw_weights: bool = False  # the raw generator even where the run saved an averaged (EMA) one


def compare(settings, log=print):
    """Run the comparison that `settings` (a CompareSettings) describes; returns (page path, summary)."""
    s = settings
    name, run_dir, photos_dir, styles, out_dir = s.name, s.run_dir, s.photos_dir, s.styles, s.out_dir
    num, image_size, style_mode, dataroot, heldout, gatys, seed = (s.num, s.image_size, s.style_mode, s.dataroot,
                                                                   s.heldout, s.gatys, s.seed)
    if style_mode not in STYLE_MODES:
        raise ValueError(f"style_mode {style_mode!r} is not one of: {', '.join(STYLE_MODES)}")
    device = resolve_device(s.device)
    photos = [str(p) for p in list_images(photos_dir)]
    photos = photos[:num] if num else photos
    paintings = collect_paintings(styles)
    translator = load_with_flags(run_dir, s.epoch, s.direction, s.model_suffix, device, arch=s.arch, back=True,
                                 raw_weights=s.raw_weights)
    stylizer = Stylizer(device=device, **gatys["stylizer"])
    modes = ["per_image", "domain"] if style_mode == "both" else [style_mode]
    fast = load(s.fast_nst_dir, device=device) if s.fast_nst_dir else None
    cut = load_cut(s.cut_dir, s.epoch, device) if s.cut_dir else None
    comp = Comparison(out_dir, translator, stylizer, paintings, modes, image_size, gatys["run"], seed, device,
                      s.overwrite, style_size=gatys.get("style_size"), log=log, fast_nst=fast, cut=cut)
    records = comp.run(photos)

    notes, classifier = ([cut.info["note"]] if cut else []), None
    if dataroot:
        classifier, info = painting_classifier(dataroot, os.path.join(os.path.dirname(out_dir), ".cache"),
                                               s.classifier_settings, log=log)
        acc = info.get("heldout") or {}
        how = "loaded from its cache" if not info["trained"] else "trained in %.0f s" % info["train_seconds"]
        notes.append(f"Painting classifier on {dataroot}/trainA (paintings) vs trainB (photos), {how}; "
                     f"held-out accuracy {acc.get('accuracy', float('nan')):.3f}.")
    else:
        notes.append("Painting classifier not computed: no --dataroot with trainA/trainB.")
    heldout_paintings = [str(p) for p in list_images(heldout)] if heldout else paintings
    heldout_imgs = [load_photo(p, image_size)[0] for p in heldout_paintings]  # loaded once for every measure
    rows = image_metrics(records, out_dir, paintings, classifier, comp, image_size)

    outputs = {m: [load_image(os.path.join(out_dir, r["methods"][m]["file"])) for r in records
                   if "file" in r.get("methods", {}).get(m, {})] for m in METHODS}
    try:
        inception = InceptionFeatures(s.inception_weights, device)
        ref = inception(heldout_imgs)

        def fid_fn(imgs):
            if len(imgs) < 2:
                return ("not computed: fewer than 2 outputs", None, None)
            r = fid_kid_from_features(inception(imgs), ref)
            return r.fid, r.kid_mean, r.kid_std
        notes.append(f"FID/KID against {len(heldout_paintings)} held-out paintings with the {inception.label}, "
                     f"weights {inception.path}.")
    except InceptionWeightsMissing as e:
        def fid_fn(imgs):
            return NOT_COMPUTED, NOT_COMPUTED, None
        notes.append(f"FID/KID {e}")
    inputs = [os.path.join(out_dir, r["input"]) for r in records if "input" in r]  # the photos that loaded
    input_imgs = [load_photo(p, image_size)[0] for p in inputs]
    reference = reference_rows(input_imgs, heldout_imgs, classifier)
    if s.reference_dir:
        outputs["reference"], ref_row = reference_outputs(s.reference_dir, records, out_dir, image_size, classifier)
        reference["reference"] = ref_row
        fk = fid_fn(outputs["reference"])
        ref_row["fid"], ref_row["kid"], ref_row["kid_std"] = fk
        notes.append(f"Reference row: {ref_row['images']} outputs from {s.reference_dir} matched to the photos by file "
                     f"name ({ref_row['failed']} photos without a match).")
    summary = aggregate(rows, outputs, reference, fid_fn)
    notes += c2st_column(summary, outputs, input_imgs, heldout_imgs, seed, device)
    notes += saturation_notes(summary, classifier, len(inputs), image_size)
    w = gatys["stylizer"].get("weights")
    notes.append(f"Gatys and the Gram/content distances use {gatys['stylizer'].get('backbone', 'vgg19')} with "
                 + ("RANDOM weights: their Gatys images, Gram and content distances are not meaningful."
                    if w == "random" or (w and "random" in os.path.basename(str(w)).lower())
                    else f"weights from {w or 'the torchvision cache'}."))
    compiled = describe_compile(translator.compiled)
    if compiled:
        notes.append(f"CycleGAN generators: {compiled}. The per-photo times do not include compilation.")
    notes.append("Weight-free measures: time, memory, SSIM, edge correlation, colour distance, painting classifier.")
    config = dict(name=name, photos=photos_dir, styles=list(map(str, styles)), num=len(photos), image_size=image_size,
                  style_mode=style_mode, seed=seed, device=str(device), gatys=gatys, dataroot=dataroot,
                  fast_nst=fast.info["files"][0] if fast else None, cut=cut.info["files"][0] if cut else None)
    also = f", CUT ({os.path.basename(os.path.normpath(s.cut_dir))})" if cut else ""
    also += f", fast NST ({os.path.basename(os.path.normpath(s.fast_nst_dir))})" if fast else ""
    page = write_outputs(out_dir, f"CycleGAN ({name}){also} vs Gatys on {len(photos)} photos", rows, summary,
                         records, notes, config)
    return page, summary


def load_cut(run_dir, epoch, device):
    """The generator of a CUT run (its {epoch}_net_G.pth) as a Translator; info['note'] says which way it was
    trained (a photo -> painting CUT on vangogh2photo trains with --direction BtoA)."""
    from ..inference.loading import saved_settings
    saved = saved_settings(run_dir)
    if saved.get("model") != "cut":
        raise MissingFileError(f"--cut {run_dir}: not a CUT run (its train_opt.json says model "
                               f"{saved.get('model')!r}); train one with cyclegan-train --model cut --direction BtoA")
    t = load(run_dir, epoch=epoch, device=device, generator="G")
    way = "B -> A" if saved.get("direction") == "BtoA" else "A -> B"
    t.info["note"] = (f"CUT: {os.path.basename(os.path.normpath(run_dir))} ({saved.get('CUT_mode')}) translates its "
                      f"dataset's {way}; photo -> painting on vangogh2photo is B -> A (--direction BtoA).")
    return t


def c2st_column(summary, outputs, photos, paintings, seed, device):
    """The headline column: C2ST balanced accuracy of each method's outputs (and the real photos, images in
    [0, 1]) against the held-out paintings; 0.5 = indistinguishable from real paintings."""
    real = paintings
    sets = dict(outputs, photos=photos)
    for key, imgs in sets.items():
        if key not in summary:
            continue
        try:
            r = c2st(real, imgs, seed=seed, device=device)
            summary[key].update(c2st=r.balanced_accuracy, c2st_ci=[r.ci_low, r.ci_high], c2st_p=r.p_value)
        except C2STError:  # a short cell; docs/quality.md says how many images the C2ST needs
            summary[key]["c2st"] = f"not computed: {len(imgs)} vs {len(real)} images, needs {needed_per_class(5)} each"
    return [f"C2ST: 5-fold balanced accuracy of a from-scratch CNN telling outputs from {len(real)} held-out "
            f"paintings (seed {seed}); 0.5 = indistinguishable, lower is better."]


def saturation_notes(summary, classifier, n, size):
    """Say when the painting classifier saturates: uniform noise, or real photos, called paintings."""
    if classifier is None or not n:
        return []
    g = torch.Generator().manual_seed(0)
    noise = torch.rand(n, 3, size, size, generator=g)
    frac = classifier.fraction_paintings(noise)
    summary["noise"] = {"images": n, "failed": 0, "fraction_paintings": frac}
    photos = summary.get("photos", {}).get("fraction_paintings") or 0.0
    if frac >= 0.5 or photos >= 0.5:
        return [f"Painting classifier SATURATES (calls {frac:.0%} of noise, {photos:.0%} of photos paintings): use C2ST."]
    return []


def reference_outputs(folder, records, out_dir, size, classifier):
    """Another model's outputs on the same photos (e.g. the official pretrained generator's test results),
    matched by file name: NAME.ext or NAME_*.ext (cyclegan-test's NAME_fake.png) for each photo NAME."""
    files = list_images(folder)
    imgs, missing = [], 0
    for rec in records:
        stem = os.path.splitext(os.path.basename(rec["photo"]))[0]
        match = [f for f in files if f.stem == stem] or [f for f in files if f.stem.startswith(stem + "_fake")]
        if not match:
            missing += 1
            continue
        imgs.append(load_photo(match[0], size)[0])
    if not imgs:
        raise MissingFileError(f"--reference {folder}: no file matches a photo name (expected NAME.png or "
                                f"NAME_fake*.png for each photo NAME)")
    row = {"images": len(imgs), "failed": missing}
    if classifier is not None:
        row["fraction_paintings"] = classifier.fraction_paintings(imgs)
    return imgs, row


def reference_rows(photos, paintings, classifier):
    """Floor and ceiling of the painting classifier: real held-out photos and paintings (images)."""
    if classifier is None:
        return {}
    return {key: {"images": len(imgs), "failed": 0, "fraction_paintings": classifier.fraction_paintings(imgs)}
            for key, imgs in (("photos", photos), ("paintings", paintings))}
