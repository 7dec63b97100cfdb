"""A folder of PNG/JPEG images, turned into grey or colour images for patch sampling."""

from pathlib import Path

import numpy as np

from ..errors import DataError, DataFileNotFoundError

EXTENSIONS = (".png", ".jpg", ".jpeg")


def load_image_folder(folder, colour=False):
    """All PNG and JPEG images of a folder, as floats in [0, 1], for sampling patches.

    Parameters
    ----------
    folder : str or path-like
        Its ``.png``, ``.jpg`` and ``.jpeg`` files (any case; not its subfolders) are read, in the
        order of their names. All must have the same size.
    colour : bool, default False
        Keep the three RGB channels; otherwise each image is turned grey (PIL's luminance).

    Returns
    -------
    ndarray of shape (k, H, W) or (k, H, W, 3), float64
        The images, pixels / 255.

    Raises
    ------
    DataFileNotFoundError
        If ``folder`` is not a folder.
    DataError
        If it holds no images, an image cannot be read, or two images differ in size (both are
        named).

    Examples
    --------
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from PIL import Image
    >>> from sparseae.datasets import load_image_folder
    >>> Path("photos").mkdir()
    >>> Image.fromarray(np.full((12, 16, 3), 255, np.uint8)).save("photos/a.png")
    >>> Image.fromarray(np.zeros((12, 16, 3), np.uint8)).save("photos/b.png")
    >>> load_image_folder("photos").shape, load_image_folder("photos", colour=True).shape
    ((2, 12, 16), (2, 12, 16, 3))
    >>> Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save("photos/c.png")
    >>> load_image_folder("photos")
    Traceback (most recent call last):
    ...
    sparseae.errors.DataError: images in 'photos' differ in size: a.png is 16x12, c.png is 8x8
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
