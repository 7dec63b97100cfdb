"""The Python snippets of the README and of the site's pages (``docs/**/*.md``) run as written:
each ```python block, extracted and run in a fresh interpreter in an empty folder (a block that
needs an optional extra is skipped, saying which, when that extra is not installed)."""

import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FOUND = [(page.relative_to(ROOT), textwrap.dedent(b)) for page in PAGES
         for b in re.findall(r"^ *```python\n(.*?)^ *```", page.read_text(), re.S | re.M)]
BLOCKS = [code for _, code in FOUND]
EXTRAS = {"dask": "dask", "torch": "torch"}


def test_the_pages_have_python_snippets():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("code", BLOCKS, ids=[f"{page}-{i}" for i, (page, _) in enumerate(FOUND)])
def test_each_readme_snippet_runs_as_written(code, tmp_path):
    for word, module in EXTRAS.items():
        if re.search(rf"^\s*(import|from) {word}\b", code, re.M) and importlib.util.find_spec(module) is None:
            pytest.skip(f"the snippet needs {module}, an optional extra that is not installed")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{code}\n{done.stderr[-3000:]}"
