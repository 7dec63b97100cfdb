"""The built-in corpus and user text."""

import sys

import pytest

from sparseae import DataError
from sparseae.datasets import text_corpus
from sparseae.datasets.text import MIN_CHARACTERS
from sparseae.errors import DataFileNotFoundError


def test_the_builtin_corpus_is_python_s_own_documentation():
    passages = text_corpus()
    characters = sum(map(len, passages))
    assert characters > 1_000_000  # some 300,000 tokens
    assert all(len(p) >= MIN_CHARACTERS for p in passages)
    assert any(p.startswith('The "for" statement is used to iterate over the elements') for p in passages)
    assert any("Return a new list containing all items from the iterable in ascending order" in p
               or "heap" in p.lower() for p in passages)  # the standard library's docstrings
    assert text_corpus() == passages  # the same every time, on every machine with this Python
    assert sys.version_info >= (3, 10)  # (sys.stdlib_module_names, which it reads, is 3.10's)


def test_user_text_files_folders_and_strings(tmp_path):
    (tmp_path / "a.txt").write_text("First paragraph, long enough to be a passage of its own.\n\nshort\n\n"
                                    "Second paragraph, also long enough to be kept as a passage.")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("A third paragraph in a second file, in a folder below the first.")
    assert len(text_corpus(tmp_path / "a.txt")) == 2
    assert len(text_corpus(tmp_path)) == 3
    assert text_corpus(["one", "two"]) == ["one", "two"]
    with pytest.raises(DataError, match="texts is empty"):
        text_corpus([])
    with pytest.raises(DataError, match="item 1 is a int"):
        text_corpus(["x", 3])
    with pytest.raises(DataFileNotFoundError, match="does not exist"):
        text_corpus(tmp_path / "nowhere.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileNotFoundError, match="holds no .txt files"):
        text_corpus(tmp_path / "empty")
