"""The documentation site: its sources match the code, and its built pages work in a real browser.

The source checks run everywhere. The browser checks need a built site: ``.ci/run`` builds it
(the README's docs command) and points ``SPARSEAE_DOCS_HTML`` at it, and then they must run.
"""

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

import sparseae

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD_COMMAND = 'pip install ".[docs]" && python -m sphinx -W --keep-going -b html docs docs/_build/html'

#: Every section heading the README had before the site (2026-12-02), and the page it moved to.
README_SECTIONS = {
    "The two commands": "getting_started.md",
    "`sparseae train`": "user_guide/runs.md",
    "More commands": "user_guide/runs.md",
    "MNIST: pen strokes, and self-taught learning": "user_guide/mnist.md",
    "Large images: convolution, pooling and RICA": "user_guide/convolution.md",
    "Deep networks: softmax regression and stacked autoencoders": "user_guide/deep.md",
    "Preprocessing and pipelines": "user_guide/preprocessing.md",
    "Speed, float32 and the GPU": "user_guide/speed.md",
    "Sparsity beyond the notes: L1, TopK, ReLU": "user_guide/sparsity.md",
    "A transformer's activations": "user_guide/transformer.md",
    "Data larger than memory, streams, clusters": "user_guide/scale.md",
    "In Python": "user_guide/python.md",
    "Choices worth knowing": "user_guide/python.md",
}


def test_api_reference_lists_exactly_the_public_names():
    import sparseae.datasets

    listed = re.findall(r"^   ((?:datasets\.)?[A-Za-z_]\w*)$", (DOCS / "api.rst").read_text(), flags=re.M)
    assert len(listed) == len(set(listed)), "a name is listed twice"
    assert {n for n in listed if "." not in n} == set(sparseae.__all__)
    assert {n.split(".")[1] for n in listed if "." in n} == set(sparseae.datasets.__all__)


@pytest.mark.parametrize("heading, page", README_SECTIONS.items())
def test_every_readme_section_of_before_the_site_has_a_page(heading, page):
    text = (DOCS / page).read_text()
    assert re.search(rf"^#+ {re.escape(heading)}$", text, flags=re.M), f"{page} has no section {heading!r}"


def test_readme_links_into_the_site_for_every_page():
    readme = (ROOT / "README.md").read_text()
    for page in sorted(set(README_SECTIONS.values())):
        assert f"docs/{page}" in readme, f"the README does not point to docs/{page}"


def test_formats_page_states_the_versions_the_code_writes():
    from sparseae import checkpoint, persistence, shards
    from sparseae.cli import resume

    text = (DOCS / "formats.md").read_text()
    assert f"(`.safetensors`, format version {persistence.FORMAT_VERSION})" in text
    assert f"(`.safetensors`, checkpoint version {checkpoint.CHECKPOINT_VERSION})" in text
    assert f"record version {resume.RECORD_VERSION})" in text
    assert f"(`manifest.json`, format version {shards.FORMAT_VERSION})" in text


def test_command_line_page_holds_every_command_and_flag_of_the_parser():
    pytest.importorskip("sphinx", reason="the page's generator is a Sphinx extension (numpydoc, in the test extras, "
                                         "brings Sphinx)")
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import cli_reference
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    from sparseae.cli.parser import build_parser

    commands = cli_reference._subcommands(build_parser())
    assert {name for name, _, _ in commands} >= {"train", "encode", "show", "stack", "conv", "activations", "export"}
    for name, sub, help_text in commands:
        text = "\n".join(cli_reference._command_text(name, sub, help_text))
        assert f"sparseae {name}\n" in text
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue  # -h, --help: on every command, and in the usage line
            for flag in action.option_strings:
                assert f"``{flag}" in text or f", {flag}" in text, f"sparseae {name} {flag} is not on the page"


def _site():
    where = os.environ.get("SPARSEAE_DOCS_HTML")
    if where:
        site = Path(where)
        assert (site / "index.html").is_file(), f"SPARSEAE_DOCS_HTML={where} holds no built site"
        return site
    site = DOCS / "_build" / "html"
    if not (site / "index.html").is_file():
        pytest.skip(f"the site is not built (build it with: {BUILD_COMMAND}); .ci/run builds it")
    return site


def _chromium():
    return next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)


def test_built_site_has_every_page_and_every_executed_example():
    site = _site()
    for page in ["index", "getting_started", "cli", "formats", "api", "user_guide/notes", "auto_examples/index"]:
        assert (site / f"{page}.html").is_file(), page
    for name in sparseae.__all__:
        assert (site / "generated" / f"sparseae.{name}.html").is_file(), name
    examples = sorted((ROOT / "examples").glob("plot_*.py"))
    assert len(examples) >= 12
    for example in examples:
        html = (site / "auto_examples" / f"{example.stem}.html").read_text()
        assert "sphx-glr-script-out" in html, f"{example.name} shows no output: it was not executed"
    exercise = (site / "auto_examples" / "plot_02_exercise.html").read_text()
    assert re.search(r"J_sparse = 0\.37\d+ after 400 iterations", exercise)


@pytest.mark.skipif(_chromium() is None,
                    reason="needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
def test_every_page_loads_in_a_real_browser_offline_with_its_images_and_search(tmp_path):
    site = _site()
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras")
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)
    problems, broken, found = [], [], {}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium())
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: problems.append(f"{page.url}: console {m.type}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"{page.url}: page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"{page.url}: request failed: {r.url}"))
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:")) else problems.append(
                f"{page.url}: network request: {r.url}"))
            for html in pages:
                page.goto(html.as_uri(), wait_until="load")
                images = page.evaluate("Array.from(document.images).map(i => [i.src, i.complete, i.naturalWidth])")
                broken += [f"{html.relative_to(site)}: {src}" for src, done, width in images if not (done and width)]
            page.goto((site / "index.html").as_uri())
            page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
            for query in ("J_sparse", "sparsity_target"):
                page.goto((site / "search.html").as_uri() + f"?q={query}")
                page.wait_for_selector("#search-results p.search-summary", timeout=20000)  # "Search finished"
                found[query] = page.evaluate("Array.from(document.querySelectorAll('#search-results li a'))"
                                             ".map(a => a.getAttribute('href'))")
        finally:
            browser.close()
    assert len(pages) > 40
    assert problems == []
    assert broken == []
    assert any("user_guide/notes" in href for href in found["J_sparse"]), found["J_sparse"]
    assert any("SparseAutoencoder" in href for href in found["sparsity_target"]), found["sparsity_target"]
    from PIL import Image, ImageStat

    with Image.open(tmp_path / "index.png") as shot:
        assert shot.height > 900 and max(ImageStat.Stat(shot.convert("L")).stddev) > 10  # not a blank page
