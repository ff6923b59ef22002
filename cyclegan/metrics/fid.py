"""FID and KID between a set of outputs and a set of reference images (the held-out paintings).

Two feature networks, both 2048-d pool features, both needing a LOCAL weights file (never downloaded
here, never random):
  pytorch-fid   the field's standard FID Inception (TF-ported, pytorch-fid's InceptionV3 with its weight
                file pt_inception-2015-12-05-6726825d.pth): comparable with published FID/KID. Images are
                fed as pytorch-fid does: [0, 1], bilinear resize to 299 (no antialias), scaled to [-1, 1].
  torchvision   torchvision's ImageNet Inception v3 (inception_v3_google-0cc3c7bd.pth): the labelled
                fallback; its numbers compare only with each other, not with papers.
By default the pytorch-fid file is used when it is in torch's hub cache, else torchvision's; a path you
pass is recognised by its keys. With neither, compute_fid_kid returns "not computed: no Inception weights".

The Fréchet distance is computed here rather than with pytorch_fid.fid_score.calculate_frechet_distance:
with fewer images than 2048 (always, for held-out sets of 25-750) the covariances are singular and the
package's 2048x2048 sqrtm is slow and prone to complex results, while the small Gram-matrix form below
is exact; tests check both agree. KID is torch-fidelity's estimator (cubic kernel, 100 subsets of <= 1000).

Sample size: FID estimates two 2048x2048 covariances. With fewer than 2048 images per set
(always true for the ~25-50 held-out images here) they are rank-deficient, the estimate is
biased upward and depends on the sample counts: compare FIDs only at equal counts, and prefer
KID (unbiased) for small sets. The published protocol uses 10k-50k images.
"""
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

from ..errors import UserError
from ..io import CheckpointError, load_state_dict_file
from .image_tensors import iter_images
from .threads import torch_threads

INCEPTION_FILE = "inception_v3_google-0cc3c7bd.pth"
FID_INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_INCEPTION_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_INCEPTION_FILE
BACKEND_LABELS = {"pytorch-fid": "pytorch-fid FID Inception (comparable with published FID/KID)",
                  "torchvision": "torchvision Inception v3 (fallback: NOT comparable with published FID/KID)"}
NOT_COMPUTED = "not computed: no Inception weights"
FEATURE_DIM = 2048
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class InceptionWeightsMissing(UserError, RuntimeError):
    """No Inception v3 weights file could be found; the message says where to put one."""


def default_inception_path(backend="torchvision"):
    """Where torch's hub cache keeps a backend's weights (pytorch-fid and torchvision download there)."""
    name = FID_INCEPTION_FILE if backend == "pytorch-fid" else INCEPTION_FILE
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def find_inception_weights(weights=None):
    """The weights file to use: `weights` if given, else the pytorch-fid file, else torchvision's; or raise."""
    if weights is not None:
        if Path(weights).is_file():
            return Path(weights)
        where = f"the weights file {weights} does not exist"
    else:
        for backend in ("pytorch-fid", "torchvision"):
            if default_inception_path(backend).is_file():
                return default_inception_path(backend)
        where = f"neither {default_inception_path('pytorch-fid')} nor {default_inception_path()} exists"
    raise InceptionWeightsMissing(
        f"{NOT_COMPUTED} ({where}). For FID/KID comparable with papers, get pytorch-fid's {FID_INCEPTION_FILE} on a "
        f"machine with internet (pip install pytorch-fid; python -c \"from pytorch_fid.inception import "
        f"fid_inception_v3; fid_inception_v3()\", or download {FID_INCEPTION_URL}) and copy it to "
        f"{default_inception_path('pytorch-fid')} (or pass its path with --inception_weights).")


def weights_backend(state, path):
    """'pytorch-fid' or 'torchvision' from a state dict's layout; CheckpointError for anything else."""
    fc = state.get("fc.weight")
    if fc is not None and tuple(fc.shape) == (1008, FEATURE_DIM) and "AuxLogits.fc.weight" not in state:
        return "pytorch-fid"
    if "AuxLogits.fc.weight" in state:
        return "torchvision"
    raise CheckpointError(f"{path}: not Inception v3 weights in pytorch-fid's or torchvision's layout")


_PATCH_LOCK = threading.Lock()


def _pytorch_fid_net(state):
    """pytorch-fid's InceptionV3 (pool3 block) with `state`: its builder fetches weights by URL, so the
    fetch is replaced by the local state dict (a lock keeps the temporary patch to one thread)."""
    from pytorch_fid import inception as pfi

    with _PATCH_LOCK, mock.patch.object(pfi, "load_state_dict_from_url", lambda *a, **k: state):
        return pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[FEATURE_DIM]], resize_input=False,
                               normalize_input=True)  # InceptionFeatures._prepare resizes, as the net would


class InceptionFeatures:
    """Callable turning images into (N, 2048) float64 Inception pool features.

    Raises InceptionWeightsMissing when there is no weights file and CheckpointError when the
    file is not a torchvision Inception v3 state dict (never uses random weights on its own).
    """

    def __init__(self, weights=None, device="cpu", batch_size=16, num_threads=None):
        self.path = find_inception_weights(weights)
        state = load_state_dict_file(self.path)
        self.backend = weights_backend(state, self.path)
        self.label = BACKEND_LABELS[self.backend]
        self.device, self.batch_size = torch.device(device), batch_size
        self.num_threads = num_threads  # None keeps torch's setting; 1 is faster on a busy shared CPU
        if self.backend == "pytorch-fid":
            try:
                self.net = _pytorch_fid_net(state).eval().to(self.device)
            except RuntimeError as e:
                raise CheckpointError(f"{self.path}: not pytorch-fid Inception weights "
                                      f"({str(e).splitlines()[0]})") from None
            return
        net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False,
                                              transform_input=True)  # as torchvision sets it for these weights
        try:
            net.load_state_dict(state)
        except RuntimeError as e:
            raise CheckpointError(f"{self.path}: not torchvision Inception v3 weights "
                                  f"({str(e).splitlines()[0]})") from None
        net.fc = torch.nn.Identity()  # keep the 2048-d pool features
        net.AuxLogits, net.aux_logits = None, False
        self.net = net.eval().to(device)
        self._mean = torch.tensor(_MEAN, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(_STD, device=self.device).view(1, 3, 1, 1)

    def _prepare(self, img):
        x = img.to(self.device).unsqueeze(0)
        # pytorch-fid's own resize (bilinear, no antialias), here so that sizes may differ per image
        return F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False,
                             antialias=self.backend == "torchvision")[0]

    @torch.no_grad()
    def __call__(self, images):
        """images: a (N, 3, H, W) batch in [0, 1], a list of (3, H, W) tensors, or image file paths."""
        feats, batch = [], []
        with torch_threads(self.num_threads):
            for img in iter_images(images, "images"):
                batch.append(self._prepare(img))
                if len(batch) == self.batch_size:
                    feats.append(self._run(batch))
                    batch = []
            if batch:
                feats.append(self._run(batch))
        return np.concatenate(feats).astype(np.float64)

    def _run(self, batch):
        if self.backend == "pytorch-fid":
            return self.net(torch.stack(batch).clamp(0, 1))[0].flatten(1).double().cpu().numpy()
        x = (torch.stack(batch).clamp(0, 1) - self._mean) / self._std
        return self.net(x).double().cpu().numpy()


def _sqrtm(a):
    # scipy warns "singular" for every rank-deficient input, which is expected here (centred
    # features); the result is checked for finiteness and imaginary parts instead.
    import scipy.linalg  # here, not at the top: training imports the metrics but needs no scipy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.sqrtm(a)


def _real_part(root, what):
    """sqrtm's result as a real matrix; None when it is not finite or has a large imaginary part."""
    if not np.isfinite(root).all():
        return None
    if np.iscomplexobj(root):
        # small imaginary parts are rounding noise from (near-)zero eigenvalues of a singular product
        scale = max(np.abs(root.real).max(), np.finfo(float).tiny)
        if np.abs(root.imag).max() > 1e-3 * scale:
            warnings.warn(f"FID: sqrtm of {what} has a large imaginary part; retrying more robustly")
            return None
        root = root.real
    return root


def _trace_sqrt_product(b1, b2, method="auto"):
    """tr(sqrtm(S1 @ S2)) for S1 = b1.T @ b1 and S2 = b2.T @ b2 (b: scaled, centred features).

    "full" takes sqrtm of the d x d product. "gram" uses that S1 @ S2 has the same non-zero
    eigenvalues as G = M @ M.T with M = b1 @ b2.T, and takes sqrtm of that small symmetric
    matrix instead (exact, and far cheaper when there are fewer samples than dimensions).
    """
    n1, n2, d = len(b1), len(b2), b1.shape[1]
    if method == "auto":
        method = "gram" if min(n1, n2) < d else "full"
    if method == "gram":
        m = b1 @ b2.T
        g = m @ m.T if n1 <= n2 else m.T @ m
        g = (g + g.T) / 2
        root = _real_part(_sqrtm(g), "the Gram matrix")
        if root is None:  # g is symmetric PSD: its eigenvalues give the same trace
            return float(np.sqrt(np.clip(np.linalg.eigvalsh(g), 0, None)).sum())
        return float(np.trace(root))
    if method != "full":
        raise ValueError(f"method must be 'auto', 'gram' or 'full', got {method!r}")
    s1, s2 = b1.T @ b1, b2.T @ b2
    root = _real_part(_sqrtm(s1 @ s2), "the covariance product")
    if root is None:
        # a small ridge relative to the covariance scale makes the product non-singular
        eps = 1e-6 * max(np.trace(s1), np.trace(s2)) / d
        offset = np.eye(d) * eps
        root = _real_part(_sqrtm((s1 + offset) @ (s2 + offset)), "the regularised product")
        if root is None:
            raise FloatingPointError("FID: the matrix square root stayed complex even with a ridge; "
                                     "the feature covariances are too ill-conditioned (too few images?)")
        warnings.warn(f"FID: added {eps:.3g} to the covariance diagonals to make sqrtm well-defined")
    return float(np.trace(root))


def _features(f, name):
    f = np.asarray(f, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"{name}: expected an (N, D) feature array with N >= 2, got shape {f.shape}")
    return f


def fid_from_features(f1, f2, method="auto"):
    """Fréchet distance between Gaussians fitted to two feature sets (N1, D) and (N2, D)."""
    f1, f2 = _features(f1, "f1"), _features(f2, "f2")
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(f"feature sizes differ: {f1.shape[1]} and {f2.shape[1]}")
    mu1, mu2 = f1.mean(0), f2.mean(0)
    b1 = (f1 - mu1) / np.sqrt(len(f1) - 1)
    b2 = (f2 - mu2) / np.sqrt(len(f2) - 1)
    diff = mu1 - mu2
    value = diff @ diff + (b1 * b1).sum() + (b2 * b2).sum() - 2 * _trace_sqrt_product(b1, b2, method)
    return max(float(value), 0.0)  # negative only by rounding


def _cubic_kernel_minus_one(s):
    # (s + 1)^3 - 1 without the cancellation of adding then removing 1 (features can be tiny);
    # the constant 1 drops out of the unbiased MMD exactly.
    return s * (3 + s * (3 + s))


def kid_from_features(f1, f2, n_subsets=100, subset_size=1000, seed=0):
    """Kernel Inception Distance: mean and std over subsets of the unbiased MMD^2 estimate with
    the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3. Subsets have min(subset_size, N1, N2)
    elements; when that is both whole sets every subset is the same and std is 0."""
    f1, f2 = _features(f1, "f1"), _features(f2, "f2")
    d = f1.shape[1]
    m = min(subset_size, len(f1), len(f2))
    rng = np.random.default_rng(seed)
    if m == len(f1) == len(f2):
        n_subsets = 1  # every subset would be both whole sets
    values = []
    for _ in range(n_subsets):
        x = f1[rng.choice(len(f1), m, replace=False)]
        y = f2[rng.choice(len(f2), m, replace=False)]
        kxx = _cubic_kernel_minus_one(x @ x.T / d)
        kyy = _cubic_kernel_minus_one(y @ y.T / d)
        kxy = _cubic_kernel_minus_one(x @ y.T / d)
        off = m * (m - 1)
        values.append((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


@dataclass
class FidKidResult:
    """FID/KID of one set of outputs against the reference set, or why it was not computed."""
    fid: float | None = None
    kid_mean: float | None = None
    kid_std: float | None = None
    n_outputs: int = 0
    n_reference: int = 0
    not_computed: str | None = None
    notes: list = field(default_factory=list)

    @property
    def computed(self):
        return self.not_computed is None

    def __str__(self):
        if not self.computed:
            return self.not_computed
        return (f"FID {self.fid:.4g}, KID {self.kid_mean:.4g} ± {self.kid_std:.3g} "
                f"({self.n_outputs} outputs vs {self.n_reference} reference images)")


def fid_kid_from_features(f_out, f_ref, kid_subsets=100, kid_subset_size=1000, seed=0):
    """FID and KID from precomputed features (reuse the reference features across methods)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fid = fid_from_features(f_out, f_ref)
        kid_mean, kid_std = kid_from_features(f_out, f_ref, kid_subsets, kid_subset_size, seed)
    n1, n2 = len(f_out), len(f_ref)
    notes = [str(w.message) for w in caught]
    if min(n1, n2) < FEATURE_DIM:
        notes.append(f"FID from {n1} outputs and {n2} reference images (fewer than {FEATURE_DIM}): biased upward "
                     f"by the small samples; compare only at equal counts and prefer KID at this size")
    return FidKidResult(fid, kid_mean, kid_std, n1, n2, None, notes)


def compute_fid_kid(outputs, reference, weights=None, device="cpu", batch_size=16,
                    kid_subsets=100, kid_subset_size=1000, seed=0, extractor=None, num_threads=None):
    """FID and KID of `outputs` against `reference` (batches, lists of tensors, or file paths).

    Returns a FidKidResult; without Inception weights it has `not_computed` set to a message
    starting "not computed: no Inception weights" and no numbers. Pass `extractor` (an
    InceptionFeatures) to reuse a loaded network.
    """
    if extractor is None:
        try:
            extractor = InceptionFeatures(weights, device, batch_size, num_threads)
        except InceptionWeightsMissing as e:
            return FidKidResult(not_computed=str(e))
    return fid_kid_from_features(extractor(outputs), extractor(reference), kid_subsets, kid_subset_size, seed)
