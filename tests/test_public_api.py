"""The package's shape: locked public names, imports that run downhill, a math module that is
only math."""

import ast
from pathlib import Path

import sparseae
import sparseae.datasets

PACKAGE = Path(sparseae.__file__).parent


def test_public_names_are_locked():
    assert sorted(sparseae.__all__) == [
        "ConvolutionalFeatures",
        "DataError",
        "DeviceError",
        "Layout",
        "ModelFileError",
        "NonFiniteCostError",
        "OptimizeResult",
        "PCAWhitening",
        "ParameterError",
        "PatchNormalizer",
        "RICA",
        "SoftmaxRegression",
        "SparseAutoencoder",
        "SparseObjective",
        "SparseaeError",
        "StackedSparseAutoencoder",
        "ZCAWhitening",
        "check_gradient",
        "edge_score",
        "export_saelens",
        "feature_tiles",
        "forward",
        "import_saelens",
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
    ]
    assert sorted(sparseae.datasets.__all__) == [
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
    for name in sparseae.__all__:
        assert getattr(sparseae, name).__doc__


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """The package's modules that ``path`` imports, at module level or inside functions."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
            for alias in node.names:  # "from . import backprop" imports a module
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("sparseae"))
    return {m for m in found if m in MODULES and m != module}


MODULES = {_module_name(p) for p in PACKAGE.rglob("*.py")}


def test_no_import_cycle_anywhere_in_the_package():
    graph = {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}
    # A package's __init__ re-exports from its modules: an edge into the package itself from
    # one of its own modules is Python's import machinery, not a cycle of ours.
    for module, targets in graph.items():
        targets.difference_update({t for t in targets if module.startswith(t + ".")})
    done, active = set(), []

    def visit(module):
        if module in active:
            raise AssertionError("import cycle: " + " -> ".join(active[active.index(module):] + [module]))
        if module in done:
            return
        active.append(module)
        for target in sorted(graph[module]):
            visit(target)
        active.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def _imported_names(name):
    tree = ast.parse((PACKAGE / name).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return imported | {n.module or "." for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}


def test_the_math_imports_only_numpy():
    """backprop.py is the notes' math: no thread pool, no PyTorch, no file reader; the one module
    it borrows from (a Matryoshka dictionary's output layer) is math too, importing only the
    error it raises."""
    assert _imported_names("backprop.py") == {"numpy", "matryoshka"}
    assert _imported_names("matryoshka.py") == {"errors"}


def test_the_backend_is_the_only_module_that_tells_numpy_from_pytorch():
    """No isinstance on tensors or backend names outside the engine; and where θ and gradients
    flow (the objective, the passes, the training layer, the optimizers, the estimators'
    adapter), no test of NumPy arrays either: the engine's ``on_host`` asks where a vector is."""
    for path in PACKAGE.rglob("*.py"):
        if "engine" in path.parts:
            continue
        text = path.read_text()
        assert "Tensor" not in text and 'name == "numpy"' not in text, path
    flows = ["objective.py", "passes.py", "distributed.py", "fitting.py", *[f"training/{p.name}" for p in
             (PACKAGE / "training").glob("*.py")], *[f"optim/{p.name}" for p in (PACKAGE / "optim").glob("*.py")]]
    for name in flows:
        for node in ast.walk(ast.parse((PACKAGE / name).read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                assert "ndarray" not in ast.unparse(node.args[1]), f"{name}:{node.lineno} tests for np.ndarray"


def test_no_module_below_the_estimators_reads_an_estimator():
    """The training layer, the data readers, the objective and the optimizers take what they need
    as arguments: none imports an estimator module, nor names an estimator's parameters' owner."""
    estimators = {"sparseae.estimator", "sparseae.softmax", "sparseae.stacked", "sparseae.fitting",
                  "sparseae.selftaught", "sparseae.cli"}
    below = [p for p in PACKAGE.rglob("*.py") if "training" in p.parts or "optim" in p.parts or p.name in (
        "_data.py", "rows.py", "objective.py", "passes.py", "distributed.py", "solvers.py", "checkpoint.py")]
    for path in below:
        imported = _imports(path)
        assert not {m for m in imported if any(m == e or m.startswith(e + ".") for e in estimators)}, path
        names = {n.id for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Name)}
        assert "estimator" not in names, f"{path} handles an estimator"


def test_the_convergence_warning_filter_lives_in_conftest_alone():
    tests = Path(__file__).parent
    for path in set(tests.glob("test_*.py")) - {Path(__file__)}:
        text = path.read_text()
        for pattern in ('simplefilter("ignore", ConvergenceWarning)', "ignore::sklearn.exceptions.ConvergenceWarning"):
            assert pattern not in text, f"{path.name}: mark the test (or module) unconverged instead"
    assert "ignore::sklearn.exceptions.ConvergenceWarning" in (tests / "conftest.py").read_text()
