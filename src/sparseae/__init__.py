"""sparseae: the sparse autoencoder of Andrew Ng's CS294A lecture notes.

The pieces, each in its own module, follow the notes:

- :mod:`sparseae.network`: the unrolled parameter vector θ and the forward pass (§2.1);
- :mod:`sparseae.objective`: J_sparse and its gradient by backpropagation (§2.2, §3);
- :mod:`sparseae.gradcheck`: gradient checking by central differences (§2.3);
- :mod:`sparseae.optimize`: gradient descent, L-BFGS and conjugate gradient (§2.2, §2.3);
- :mod:`sparseae.estimator`: the scikit-learn estimator ``SparseAutoencoder``;
- :mod:`sparseae.visualize` and :mod:`sparseae.edges`: what the hidden units learned (§4);
- :mod:`sparseae.preprocessing`: UFLDL's patch normalisation, PCA and ZCA whitening;
- :mod:`sparseae.datasets`: whitened natural images, patches, MNIST, digits, image folders;
- :mod:`sparseae.selftaught`: UFLDL's self-taught learning experiment;
- :mod:`sparseae.persistence`: safetensors model files.
"""

from .edges import edge_score, localisation, orientation_selectivity
from .estimator import SparseAutoencoder
from .gradcheck import check_gradient, numerical_gradient
from .network import Layout, forward
from .objective import SparseObjective, kl_divergence
from .optimize import NonFiniteCostError, OptimizeResult, minimize
from .persistence import ModelFileError, load, save
from .preprocessing import PatchNormalizer, PCAWhitening, ZCAWhitening
from .visualize import feature_tiles, max_activation_inputs

__version__ = "0.1.0"

__all__ = [
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
