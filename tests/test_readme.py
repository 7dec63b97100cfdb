"""The README's Python snippets run as written: each ```python block, extracted and run in a
fresh interpreter in an empty folder (a block that needs an optional extra is skipped, saying
which, when that extra is not installed)."""

import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = [textwrap.dedent(b) for b in re.findall(r"^ *```python\n(.*?)^ *```", README.read_text(), re.S | re.M)]
EXTRAS = {"dask": "dask", "torch": "torch"}


def test_the_readme_has_python_snippets():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_each_readme_snippet_runs_as_written(code, tmp_path):
    for word, module in EXTRAS.items():
        if re.search(rf"^\s*(import|from) {word}\b", code, re.M) and importlib.util.find_spec(module) is None:
            pytest.skip(f"the snippet needs {module}, an optional extra that is not installed")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{code}\n{done.stderr[-3000:]}"
