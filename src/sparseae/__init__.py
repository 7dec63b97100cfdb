"""sparseae: the sparse autoencoder of Andrew Ng's CS294A lecture notes.

The pieces, each in its own module, follow the notes:

- :mod:`sparseae.network`: the unrolled parameter vector θ and the forward pass (§2.1);
- :mod:`sparseae.backprop`: the math of one evaluation of J_sparse and its gradient (§2.2, §3),
  with f and f' from :mod:`~sparseae.activations`, the loss from :mod:`~sparseae.losses`, the
  sparsity penalty from :mod:`~sparseae.penalties`;
- :mod:`sparseae.objective`: J_sparse(θ) as a function, in memory, in chunks or minibatches;
- :mod:`sparseae.gradcheck`: gradient checking by central differences (§2.3);
- :mod:`sparseae.optim`: gradient descent, L-BFGS, conjugate gradient (§2.2, §2.3) and Adam;
- :mod:`sparseae.estimator`: the scikit-learn estimator ``SparseAutoencoder``;
- :mod:`sparseae.visualize` and :mod:`sparseae.edges`: what the hidden units learned (§4);
- :mod:`sparseae.softmax` and :mod:`sparseae.stacked`: softmax regression, and stacked sparse
  autoencoders with fine-tuning (UFLDL's deep networks);
- :mod:`sparseae.preprocessing`: UFLDL's patch normalisation, PCA and ZCA whitening;
- :mod:`sparseae.datasets`: whitened natural images, patches, MNIST, digits, image folders;
- :mod:`sparseae.reconstruction_ica` and :mod:`sparseae.rica`: RICA, reconstruction ICA;
- :mod:`sparseae.patch_code` and :mod:`sparseae.convolution`: learned features convolved over
  whole images and pooled (UFLDL's large images);
- :mod:`sparseae.language_model`, :mod:`sparseae.shards` and :mod:`sparseae.spliced`: a
  transformer's activations as training data, and the model with the autoencoder spliced in;
- :mod:`sparseae.selftaught`: UFLDL's self-taught learning experiment;
- :mod:`sparseae.metrics`: reconstruction and hidden-unit statistics on held-out rows;
- :mod:`sparseae.persistence`: safetensors model files;
- :mod:`sparseae.errors`: the exceptions sparseae raises on purpose.
"""

import importlib

#: Each public name and the module it lives in. They load on first use (PEP 562), so that
#: ``import sparseae`` is quick and the ``sparseae`` command can handle signals before NumPy,
#: SciPy and scikit-learn load.
_EXPORTS = {
    "edge_score": "edges",
    "localisation": "edges",
    "orientation_selectivity": "edges",
    "DataError": "errors",
    "DeviceError": "errors",
    "ModelFileError": "errors",
    "NonFiniteCostError": "errors",
    "ParameterError": "errors",
    "SparseaeError": "errors",
    "SparseAutoencoder": "estimator",
    "ConvolutionalFeatures": "convolution",
    "RICA": "rica",
    "check_gradient": "gradcheck",
    "numerical_gradient": "gradcheck",
    "reconstruction_metrics": "metrics",
    "Layout": "network",
    "forward": "network",
    "SparseObjective": "objective",
    "OptimizeResult": "optim",
    "minimize": "optim",
    "kl_divergence": "penalties",
    "spliced_fidelity": "spliced",
    "load": "persistence",
    "save": "persistence",
    "export_saelens": "saelens",
    "import_saelens": "saelens",
    "PatchNormalizer": "preprocessing",
    "PCAWhitening": "preprocessing",
    "ZCAWhitening": "preprocessing",
    "SoftmaxRegression": "softmax",
    "StackedSparseAutoencoder": "stacked",
    "feature_tiles": "visualize",
    "max_activation_inputs": "visualize",
}

__version__ = "0.1.0"

__all__ = [
    "ConvolutionalFeatures",
    "RICA",
    "DataError",
    "DeviceError",
    "Layout",
    "ModelFileError",
    "NonFiniteCostError",
    "OptimizeResult",
    "PCAWhitening",
    "ParameterError",
    "PatchNormalizer",
    "SparseAutoencoder",
    "SoftmaxRegression",
    "SparseObjective",
    "SparseaeError",
    "StackedSparseAutoencoder",
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
    "reconstruction_metrics",
    "save",
    "spliced_fidelity",
    "export_saelens",
    "import_saelens",
]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    else:
        try:
            value = importlib.import_module(f".{name}", __name__)  # a submodule: sparseae.errors
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
