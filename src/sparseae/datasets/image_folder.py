"""A folder of PNG/JPEG images, turned into grey or colour images for patch sampling."""

from pathlib import Path

import numpy as np

from ..errors import DataError, DataFileNotFoundError

EXTENSIONS = (".png", ".jpg", ".jpeg")


def load_image_folder(folder, colour=False):
    """All PNG and JPEG images of ``folder`` as floats in [0, 1]: (k, H, W) grey, or (k, H, W, 3) with
    ``colour``. A folder with no images, an unreadable image, or images of different sizes (two are
    named) is a DataError.
    """
    from PIL import Image, UnidentifiedImageError

    folder = Path(folder)
    if not folder.is_dir():
        raise DataFileNotFoundError(f"image folder {str(folder)!r} does not exist")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS)
    if not paths:
        raise DataError(f"image folder {str(folder)!r} holds no .png, .jpg or .jpeg images")
    images, first = [], None
    for path in paths:
        try:
            with Image.open(path) as image:
                image = image.convert("RGB" if colour else "L")
                pixels = np.asarray(image, dtype=np.float64) / 255.0
        except (OSError, UnidentifiedImageError) as exc:
            raise DataError(f"cannot read image {str(path)!r}: {exc}") from None
        if first is None:
            first = (path, pixels.shape[:2])
        elif pixels.shape[:2] != first[1]:
            raise DataError(
                f"images in {str(folder)!r} differ in size: {first[0].name} is "
                f"{first[1][1]}x{first[1][0]}, {path.name} is {pixels.shape[1]}x{pixels.shape[0]}"
            )
        images.append(pixels)
    return np.stack(images)
