"""English text with no download, and a user's text, as a list of passages for a transformer.

:func:`text_corpus` with no argument gives text that ships with Python itself: the interpreter's
documentation topics (``pydoc_data.topics``, what ``help("FOR")`` shows) and the docstrings of the
standard library's public pure-Python modules, read from their source files with :mod:`ast`
(nothing is imported or run). About 1.3 million characters, some 300,000 tokens, identical on
every machine with the same Python version. Each passage is one paragraph (text between blank
lines) of at least :data:`MIN_CHARACTERS` characters.
"""

import ast
import importlib.util
import sys
from pathlib import Path

from ..errors import DataError, DataFileNotFoundError

MIN_CHARACTERS = 40
#: Standard-library modules whose docstrings are left out: test suites, IDLE, demos, and the two
#: modules that act when imported (their source is never run here, but their text is not prose).
SKIPPED = ("antigravity", "this", "idlelib", "test", "turtledemo", "lib2to3", "ensurepip", "pydoc_data")


def _paragraphs(text):
    for block in text.replace("\r\n", "\n").split("\n\n"):
        passage = " ".join(block.split())
        if len(passage) >= MIN_CHARACTERS:
            yield passage


def _docstrings(path):
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc:
                yield doc


def python_documentation():
    """The built-in corpus: Python's documentation topics, then the standard library's
    docstrings, module by module in alphabetical order, as paragraphs."""
    from pydoc_data.topics import topics

    passages = [p for name in sorted(topics) for p in _paragraphs(topics[name])]
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or name in SKIPPED:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or not (spec.origin or "").endswith(".py"):
            continue  # built into the interpreter, or a compiled extension: no source to read
        passages.extend(p for doc in _docstrings(spec.origin) for p in _paragraphs(doc))
    return passages


def text_corpus(source=None):
    """Passages of English text for a transformer, with nothing to download.

    Parameters
    ----------
    source : None, str, path-like or iterable of str, default None
        None: the built-in corpus, Python's documentation topics and the docstrings of the
        standard library's pure-Python modules (read with ``ast``, nothing imported), the same
        on every machine with the same Python version. A ``.txt`` file, or a folder of them
        (searched recursively, sorted by path): their paragraphs (text between blank lines) of at
        least 40 characters, whitespace collapsed. An iterable of strings: each one passage, kept
        as given.

    Returns
    -------
    list of str
        The passages.

    Raises
    ------
    DataFileNotFoundError
        If a named file or folder does not exist, or a folder holds no ``.txt`` file.
    DataError
        If there is no text (an empty list, a file with no long enough paragraph), a file is not
        UTF-8, or an item is not a string.

    Examples
    --------
    >>> from sparseae.datasets import text_corpus
    >>> passages = text_corpus()
    >>> len(passages) > 5000, all(len(p) >= 40 for p in passages)
    (True, True)
    >>> text_corpus(["The cat sat on the mat.", "A second passage."])
    ['The cat sat on the mat.', 'A second passage.']
    >>> text_corpus([])
    Traceback (most recent call last):
    ...
    sparseae.errors.DataError: texts is empty: give at least one non-empty string
    """
    if source is None:
        return python_documentation()
    if isinstance(source, (str, Path)) and not (isinstance(source, str) and "\n" in source):
        path = Path(source)
        if path.is_dir():
            files = sorted(path.rglob("*.txt"))
            if not files:
                raise DataFileNotFoundError(f"text folder {str(path)!r} holds no .txt files")
        elif path.is_file():
            files = [path]
        else:
            raise DataFileNotFoundError(f"text file or folder {str(path)!r} does not exist")
        passages = []
        for file in files:
            try:
                passages.extend(_paragraphs(file.read_text(encoding="utf-8")))
            except UnicodeDecodeError as exc:
                raise DataError(f"{str(file)!r} is not UTF-8 text: {exc}") from None
        if not passages:
            raise DataError(f"{str(path)!r} holds no passage of {MIN_CHARACTERS} characters or more")
        return passages
    passages = list(source)
    for i, passage in enumerate(passages):
        if not isinstance(passage, str):
            raise DataError(f"texts: item {i} is a {type(passage).__name__}, not a string")
    if not any(p.strip() for p in passages):
        raise DataError("texts is empty: give at least one non-empty string")
    return passages
