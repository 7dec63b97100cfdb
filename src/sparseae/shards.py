"""A folder of activation shards: ``.npy`` files of rows (each memory-mappable) and a manifest
that says what they are and holds each one's checksum, written so that an interrupted run leaves
only whole shards under their names and a manifest that lists exactly them.

The manifest (``manifest.json``, format version 1) holds the settings that made the rows (for
activations: the model, the layer, the tokenizer, the text source and its checksum), ``dtype``
and ``width``, and per shard its file, rows and SHA-256 (and, for activations, the texts it
covers and its tokens file: each row's text, position and token id). :class:`ShardRows` reads
such a folder wherever ``fit`` takes data, refusing a missing, changed or truncated shard and
mixed dtypes; :meth:`ShardRows.to_dask` gives the same rows as a ``dask.array``.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from ._io import atomic_path
from .errors import DataChangedError, DataError, DataFileNotFoundError
from .rows import NpyRows, RowSource

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_shard_folder(path):
    return Path(path).is_dir() and (Path(path) / MANIFEST).is_file()


def read_manifest(folder):
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
        version, shards = manifest["format_version"], manifest["shards"]
    except FileNotFoundError:
        raise DataFileNotFoundError(f"{str(folder)!r} has no {MANIFEST}: not a shard folder") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{str(path)!r} is not a readable shard manifest: {exc!r}") from None
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise DataError(f"{str(path)!r} is in format version {version!r}; this sparseae reads up to {FORMAT_VERSION}")
    if not isinstance(shards, list):
        raise DataError(f"{str(path)!r}: 'shards' must be a list")
    return manifest


def write_manifest(folder, manifest):
    with atomic_path(Path(folder) / MANIFEST) as tmp:
        tmp.write_text(json.dumps({"format_version": FORMAT_VERSION, **manifest}, indent=1) + "\n")


def write_shard(folder, name, array):
    """Write ``array`` as ``folder/name`` atomically; its manifest entry's file, rows and sha256."""
    path = Path(folder) / name
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(array), allow_pickle=False)
    return {"file": name, "rows": int(len(array)), "sha256": file_sha256(path)}


class ShardRows(RowSource):
    """The rows of a shard folder, in shard order, through the row-source interface (``shape``,
    ``dtype``, ``rows(start, stop)``, ``check_unchanged()``), each shard read with plain reads.

    ``verify=True`` checks every shard's SHA-256 against the manifest once, when opened."""

    def __init__(self, folder, verify=True):
        self.folder = Path(folder)
        self.manifest = manifest = read_manifest(self.folder)
        if not manifest.get("complete", True):
            raise DataError(f"the shards in {str(self.folder)!r} are incomplete (an interrupted run): run the same "
                            f"command again to finish them")
        if not manifest["shards"]:
            raise DataError(f"{str(self.folder)!r} lists no shards")
        self.parts, dtypes, widths = [], set(), set()
        for entry in manifest["shards"]:
            path = self.folder / entry["file"]
            if not path.is_file():
                raise DataFileNotFoundError(f"shard {entry['file']!r} of {str(self.folder)!r} is missing")
            if verify and file_sha256(path) != entry["sha256"]:
                raise DataChangedError(f"shard {entry['file']!r} of {str(self.folder)!r} has changed since it was "
                                       f"written (its SHA-256 differs from the manifest's)")
            part = NpyRows(path)
            if part.shape[0] != entry["rows"]:
                raise DataChangedError(f"shard {entry['file']!r} holds {part.shape[0]} rows, the manifest says "
                                       f"{entry['rows']}")
            dtypes.add(part.dtype.name)
            widths.add(part.shape[1])
            self.parts.append(part)
        if len(dtypes) > 1:
            raise DataError(f"the shards of {str(self.folder)!r} mix dtypes ({', '.join(sorted(dtypes))}); "
                            f"write them in one dtype")
        if len(widths) > 1:
            raise DataError(f"the shards of {str(self.folder)!r} have different widths ({sorted(widths)})")
        self.offsets = np.concatenate([[0], np.cumsum([p.shape[0] for p in self.parts])])
        self.shape = (int(self.offsets[-1]), widths.pop())
        self.dtype = self.parts[0].dtype

    def __len__(self):
        return self.shape[0]

    def check_unchanged(self):
        for part in self.parts:
            part.check_unchanged()

    def rows(self, start, stop):
        """Rows start..stop-1 (across shards) as a new in-memory array."""
        stop = min(stop, self.shape[0])
        first = int(np.searchsorted(self.offsets, start, side="right")) - 1
        pieces = []
        for i in range(first, len(self.parts)):
            lo, hi = self.offsets[i], self.offsets[i + 1]
            if lo >= stop:
                break
            pieces.append(self.parts[i].rows(max(start, lo) - lo, min(stop, hi) - lo))
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def __getitem__(self, key):
        """Rows by a slice (one read per shard it spans) or by an array of row indices (gathered
        from memory maps of the shards): a new in-memory array, as a memmap's indexing gives."""
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            return self.rows(start, stop)[::step] if stop > start else np.empty((0, self.shape[1]), self.dtype)
        index = np.asarray(key)
        if index.dtype.kind not in "iu" or index.ndim != 1:
            raise DataError("shard rows are indexed by a slice or a 1-D array of row numbers")
        index = np.where(index < 0, index + self.shape[0], index)
        if len(index) and (index.min() < 0 or index.max() >= self.shape[0]):
            raise DataError(f"row index out of range for {self.shape[0]} rows")
        out = np.empty((len(index), self.shape[1]), dtype=self.dtype)
        shard = np.searchsorted(self.offsets, index, side="right") - 1
        for i in np.unique(shard):
            where = shard == i
            mapped = np.load(self.parts[i].path, mmap_mode="r", allow_pickle=False)
            out[where] = mapped[index[where] - self.offsets[i]]
        return out

    def __array__(self, dtype=None, copy=None):
        rows = self.rows(0, self.shape[0])
        return rows if dtype is None else rows.astype(dtype, copy=False)

    def to_dask(self):
        """The rows as a ``dask.array``, one chunk per shard, each read where the task runs (the
        folder must be at the same path on every worker)."""
        import dask
        import dask.array as da

        load = dask.delayed(lambda path: np.load(path, allow_pickle=False), pure=True)
        return da.concatenate([da.from_delayed(load(str(p.path)), shape=p.shape, dtype=p.dtype) for p in self.parts])
