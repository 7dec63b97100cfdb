import sparseae
import sparseae.datasets


def test_public_names_are_locked():
    assert sorted(sparseae.__all__) == [
        "Layout",
        "ModelFileError",
        "NonFiniteCostError",
        "OptimizeResult",
        "PCAWhitening",
        "PatchNormalizer",
        "SparseAutoencoder",
        "SparseObjective",
        "ZCAWhitening",
        "check_gradient",
        "edge_score",
        "feature_tiles",
        "forward",
        "kl_divergence",
        "load",
        "localisation",
        "max_activation_inputs",
        "minimize",
        "numerical_gradient",
        "orientation_selectivity",
        "save",
    ]
    assert sorted(sparseae.datasets.__all__) == [
        "load_array",
        "load_digits",
        "load_image_folder",
        "load_mnist",
        "load_training_data",
        "natural_images",
        "normalize_patches",
        "read_idx",
        "sample_patches",
        "whiten_images",
    ]
    for name in sparseae.__all__:
        assert getattr(sparseae, name).__doc__
