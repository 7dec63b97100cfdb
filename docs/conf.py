"""Sphinx configuration of sparseae's documentation site.

Built offline: no intersphinx, math rendered to MathML at build time (``_ext/mathml.py``), the
gallery executed by sphinx-gallery, and every warning an error (``-W`` in the README's command).
"""

import os
import sys
from pathlib import Path

import sparseae

sys.path.insert(0, str(Path(__file__).parent / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

project = "sparseae"
author = "the sparseae developers"
copyright = "2026, the sparseae developers"
release = version = sparseae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "mathml",            # _ext/mathml.py: LaTeX -> MathML, no script, no network
    "cli_reference",     # _ext/cli_reference.py: the command line's pages, from the parser
]

# Every cross-reference must resolve (a broken one fails the -W build). Types from other libraries
# have no target without intersphinx, which would need the network; numpydoc links a fitted
# attribute that is a property to itself.
nitpicky = True
nitpick_ignore_regex = [("py:class", r"(numpy|sklearn|pathlib|dask|torch)\..*"), ("py:obj", r"components_")]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_templates", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
                    "auto_examples/*.md5", "auto_examples/*.json", "sg_execution_times.rst"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
# Quotes and ellipses made typographic, but never "--" into a dash: flags are written with two.
smartquotes_action = "qe"

autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Every documented object needs a docstring; the sections of the public names are checked by
# tests/test_docs.py (Parameters, Returns, Raises, Examples), which runs without Sphinx.
numpydoc_validation_checks = {"GL08"}
numpydoc_validation_exclude = {r"\.__init__$", r"\.__call__$"}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",       # every example is executed
    "abort_on_example_error": True,      # an example whose own check fails stops the build
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    # The computation-times page loads jQuery and DataTables from a CDN: no such page here (the
    # build log prints the times).
    "write_computation_times": False,
}

html_math_renderer = "mathml"


def _skip_metadata_requests(app, what, name, obj, skip, options):
    """scikit-learn's generated ``set_*_request`` methods (metadata routing) are not sparseae's API."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)

html_theme = "pydata_sphinx_theme"
html_title = f"sparseae {version}"
html_static_path = ["_static"]
html_css_files = ["mathml.css"]
templates_path = ["_templates"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# The theme's colour mode, set in the page (an empty one is a console error on a first visit).
html_context = {"default_mode": "auto"}
html_show_sourcelink = False
# Search results without the text snippets: those are fetched page by page, which a browser
# refuses for a site opened from file:// (each refusal a console error).
html_show_search_summary = False
html_copy_source = False
