"""Row-chunked access to training data that may not fit in memory (notes §3, last paragraph).

:class:`NpyRows` reads a ``.npy`` file's rows with plain reads, chunk by chunk, so the process
holds one chunk at a time (a memory map would also work, but its pages count towards the
process's memory and address-space limits). Before every pass it checks that the file is
still the one it opened (size, modification time, inode): a file rewritten between the passes
of one evaluation would otherwise mix two datasets into one gradient.
"""

from pathlib import Path

import numpy as np

from .errors import DataChangedError, DataError, DataFileNotFoundError


class RowSource:
    """Rows that are read a range at a time (a file, a folder of shards, or an array behind the
    same interface): ``shape``, ``dtype``, ``len()``, ``rows(start, stop)`` (a new in-memory
    array) and ``check_unchanged()`` (before every pass)."""


class NpyRows(RowSource):
    """The rows of a 2-D ``.npy`` file (or of a ``np.memmap`` opened on one).

    Parameters
    ----------
    source : str, Path or np.memmap
        A path to a ``.npy`` file, or the memmap ``np.load(path, mmap_mode="r")`` returns.
    """

    def __init__(self, source):
        if isinstance(source, np.memmap):
            if source.filename is None:
                raise DataError("X is a memmap without a file name; pass the .npy path instead")
            path, offset = Path(source.filename), int(source.offset)
            shape, dtype, fortran = source.shape, source.dtype, not source.flags.c_contiguous
        else:
            path = Path(source)
            if not path.is_file():
                raise DataFileNotFoundError(f"data file {str(path)!r} does not exist")
            shape, dtype, fortran, offset = read_npy_header(path)
        if len(shape) != 2:
            raise DataError(f"{str(path)!r} holds an array of shape {shape}; fit needs 2-D rows")
        if fortran and shape[0] > 1 and shape[1] > 1:
            raise DataError(f"{str(path)!r} is stored in Fortran order; save it in C order")
        if dtype.kind not in "biuf":
            raise DataError(f"{str(path)!r} holds {dtype} values; fit needs numbers")
        self.path, self.offset, self.shape, self.dtype = path, offset, tuple(shape), dtype
        self._row_bytes = shape[1] * dtype.itemsize
        expected = offset + shape[0] * self._row_bytes
        size = path.stat().st_size
        if size < expected:
            raise DataError(
                f"{str(path)!r} is truncated: its header says {shape[0]} rows ({expected} bytes), "
                f"the file has {size} bytes"
            )
        self._stamp = self._stat()

    def _stat(self):
        st = self.path.stat()
        return (st.st_size, st.st_mtime_ns, st.st_ino)

    def check_unchanged(self):
        """Raise :class:`DataChangedError` if the file is no longer the one opened."""
        try:
            stamp = self._stat()
        except OSError as exc:
            raise DataChangedError(f"data file {str(self.path)!r} disappeared: {exc}") from None
        if stamp != self._stamp:
            raise DataChangedError(
                f"data file {str(self.path)!r} changed while it was being read (size, "
                f"modification time or inode differ); its shape or dtype may have changed"
            )

    def __len__(self):
        return self.shape[0]

    def rows(self, start, stop):
        """Rows start..stop-1 as a new in-memory array."""
        stop = min(stop, self.shape[0])
        count = (stop - start) * self.shape[1]
        with open(self.path, "rb") as fh:
            fh.seek(self.offset + start * self._row_bytes)
            data = np.fromfile(fh, dtype=self.dtype, count=count)
        if data.size != count:
            raise DataChangedError(f"data file {str(self.path)!r} ended early at row {start}")
        return data.reshape(stop - start, self.shape[1])


class ArrayRows(RowSource):
    """The rows of an in-memory array, through the same interface."""

    def __init__(self, X):
        self.X = X
        self.shape = tuple(X.shape)
        self.dtype = X.dtype

    def check_unchanged(self):
        pass

    def __len__(self):
        return self.shape[0]

    def rows(self, start, stop):
        return self.X[start:stop]


def read_npy_header(path):
    """``(shape, dtype, fortran_order, data_offset)`` of a .npy file; a DataError if it is not one."""
    with open(path, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        except (ValueError, EOFError) as exc:
            raise DataError(f"cannot read {str(path)!r} as .npy: {exc}") from None
        return shape, np.dtype(dtype), fortran, fh.tell()
