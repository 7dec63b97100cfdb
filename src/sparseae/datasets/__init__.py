"""Data for the autoencoder: built-in whitened natural images, patches, and a user's arrays."""

from .files import load_array
from .natural_images import natural_images, whiten_images
from .patches import normalize_patches, sample_patches

__all__ = ["load_array", "natural_images", "normalize_patches", "sample_patches", "whiten_images"]
