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
- :mod:`sparseae.selftaught`: UFLDL's self-taught learning experiment;
- :mod:`sparseae.metrics`: reconstruction and hidden-unit statistics on held-out rows;
- :mod:`sparseae.persistence`: safetensors model files;
- :mod:`sparseae.errors`: the exceptions sparseae raises on purpose.
"""

from .edges import edge_score, localisation, orientation_selectivity
from .errors import (
    DataError,
    DeviceError,
    ModelFileError,
    NonFiniteCostError,
    ParameterError,
    SparseaeError,
)
from .estimator import SparseAutoencoder
from .gradcheck import check_gradient, numerical_gradient
from .metrics import reconstruction_metrics
from .network import Layout, forward
from .objective import SparseObjective
from .optim import OptimizeResult, minimize
from .penalties import kl_divergence
from .persistence import load, save
from .preprocessing import PatchNormalizer, PCAWhitening, ZCAWhitening
from .softmax import SoftmaxRegression
from .stacked import StackedSparseAutoencoder
from .visualize import feature_tiles, max_activation_inputs

__version__ = "0.1.0"

__all__ = [
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
]
