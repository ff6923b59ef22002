"""Image-quality metrics for comparing photo -> Van Gogh methods (CycleGAN, Gatys) on equal terms.

Images are float tensors in [0, 1], RGB, channels first: one image (3, H, W), a batch
(N, 3, H, W); load files with load_image / load_images. Everything runs on the CPU unless a
`device` is passed.

  content kept    ssim, edge_correlation                (input vs output, grayscale)
  colour match    pool_lab_pixels + color_distance      (sliced Wasserstein in CIE Lab)
  painting-ness   painting_classifier -> .fraction_paintings (tiny CNN, cached per dataset)
  FID / KID       compute_fid_kid (needs local Inception v3 weights; otherwise "not computed")
  video steadiness warp_error, WarpError               (Lai et al.'s warping error along OpenCV optical flow)
"""
from .classifier import PaintingClassifier, evaluate as evaluate_classifier, painting_classifier, train_classifier
from .color import color_distance, image_to_lab, lab_pixels, pool_lab_pixels, sliced_wasserstein, srgb_to_lab
from .fid import (NOT_COMPUTED, FidKidResult, InceptionFeatures, InceptionWeightsMissing, compute_fid_kid,
                  default_inception_path, fid_from_features, fid_kid_from_features, find_inception_weights,
                  kid_from_features)
from .image_tensors import as_batch, list_images, load_image, load_images
from .similarity import edge_correlation, sobel_edges, ssim, to_gray
from .warp import WarpError, warp_error

__all__ = [
    "PaintingClassifier", "evaluate_classifier", "painting_classifier", "train_classifier",
    "color_distance", "image_to_lab", "lab_pixels", "pool_lab_pixels", "sliced_wasserstein", "srgb_to_lab",
    "NOT_COMPUTED", "FidKidResult", "InceptionFeatures", "InceptionWeightsMissing", "compute_fid_kid",
    "default_inception_path", "fid_from_features", "fid_kid_from_features", "find_inception_weights",
    "kid_from_features",
    "as_batch", "list_images", "load_image", "load_images",
    "edge_correlation", "sobel_edges", "ssim", "to_gray",
    "WarpError", "warp_error",
]
