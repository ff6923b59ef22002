"""The dataset's image list: every image under a folder (recursively), or a single image file.
Listing, loading and converting images live in cyclegan.images."""
import os

from ..errors import MissingFileError
from ..images import IMG_EXTENSIONS, is_image_file, list_images


def make_dataset(folder, max_dataset_size=float("inf")):
    """Sorted image paths under `folder` (recursively); a clear error if it is missing or has none."""
    if os.path.isfile(folder) and is_image_file(folder):
        return [folder]
    if not os.path.isdir(folder):
        raise MissingFileError(f"{folder}: no such folder. Check --dataroot (expected {os.path.basename(folder)}/ "
                                f"inside it) or download a dataset with scripts/download_cyclegan_dataset.sh")
    try:
        paths = [str(p) for p in list_images(folder, recursive=True)]
    except FileNotFoundError as e:
        raise MissingFileError(f"{e}. Put images there or point --dataroot at the right dataset") from None
    return paths[:int(min(max_dataset_size, len(paths)))]


__all__ = ["IMG_EXTENSIONS", "is_image_file", "make_dataset"]
