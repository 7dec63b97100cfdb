"""Every public name's docstring is worth generating the API reference from: numpydoc sections,
and an Examples section that runs (collected here, so the examples cannot rot)."""

import doctest
import importlib
import inspect
import warnings

import numpy as np
import pytest
from numpydoc.docscrape import ClassDoc, FunctionDoc

import sparseae
import sparseae.datasets

#: Every name of the API reference: the package's, then its data loaders'.
PUBLIC = [f"sparseae.{name}" for name in sorted(sparseae.__all__)] + [
    f"sparseae.datasets.{name}" for name in sorted(sparseae.datasets.__all__)]
#: Public names whose examples need an optional extra, and the module that extra provides.
NEEDS = {"sparseae.spliced_fidelity": "all_minilm_l6_v2",
         "sparseae.datasets.transformer_activations": "all_minilm_l6_v2"}


def _object(qualified):
    module, _, name = qualified.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _doc(obj):
    return ClassDoc(obj) if inspect.isclass(obj) else FunctionDoc(obj)


@pytest.mark.parametrize("name", PUBLIC)
def test_numpydoc_sections(name):
    obj = _object(name)
    doc = _doc(obj)
    assert doc["Summary"], f"{name} has no summary line"
    assert doc["Examples"], f"{name} has no Examples section"
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return  # an exception class: its summary says when it is raised, its example shows it
    function = obj.__init__ if inspect.isclass(obj) else obj
    signature = [p for p in inspect.signature(function).parameters if p not in ("self", "cls")]
    assert doc["Parameters"] or not signature, f"{name} has no Parameters section"
    documented = {p.name.split(":")[0].strip().lstrip("*") for p in doc["Parameters"]}
    undocumented = [p for p in signature if not any(p in d.replace(" ", "").split(",") for d in documented)]
    assert not undocumented, f"{name}: parameters without an entry: {undocumented}"
    if not inspect.isclass(obj):
        assert doc["Returns"] or doc["Yields"], f"{name} has no Returns section"
    assert doc["Raises"], f"{name} has no Raises section"


@pytest.mark.parametrize("name", PUBLIC)
def test_examples_run(name, tmp_path, monkeypatch):
    if name in NEEDS:
        pytest.importorskip(NEEDS[name], reason=f"{name}'s example needs the optional {NEEDS[name]}")
    obj = _object(name)
    tests = [t for t in doctest.DocTestFinder(recurse=False).find(obj, name, globs={}) if t.examples]
    assert tests, f"{name} has no runnable example"
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures = []
    with warnings.catch_warnings(), np.printoptions(legacy=False):
        warnings.simplefilter("error")
        for test in tests:
            runner.run(test, out=lambda text: failures.append(text))
    assert runner.failures == 0, "".join(failures)
