"""Data for the autoencoder: built-in whitened natural images, patches, MNIST, STL-10, digits,
folders of images, and a user's arrays."""

from .digits import load_digits
from .files import load_array
from .idx import load_mnist, read_idx
from .image_folder import load_image_folder
from .labeled import load_labeled
from .natural_images import natural_images, whiten_images
from .patches import normalize_patches, patch_limit, patch_stream, sample_patches
from .sources import load_training_data
from .stl10 import load_stl10
from .text import text_corpus


def __getattr__(name):
    if name == "transformer_activations":  # (PyTorch and transformers load only when asked for)
        from .transformer import transformer_activations

        return transformer_activations
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "load_array",
    "load_digits",
    "load_image_folder",
    "load_labeled",
    "load_mnist",
    "load_stl10",
    "load_training_data",
    "natural_images",
    "normalize_patches",
    "patch_limit",
    "patch_stream",
    "read_idx",
    "sample_patches",
    "text_corpus",
    "transformer_activations",
    "whiten_images",
]
