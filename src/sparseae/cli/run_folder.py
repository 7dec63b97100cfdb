"""A folder of results that appears whole or not at all, and that one run at a time writes.

Its files are written into a hidden folder beside the final one (``.NAME.partial-XXXX``), which
is renamed to the final name only when everything is written: a failure, a Ctrl-C or a kill at
any instant leaves either the complete folder or nothing under the final name (and no empty
folder: parents the run created are removed again). While a run writes a folder it holds a
lock on its name (:class:`FolderLock`, ``.NAME.lock`` beside it): a second run on the same
``--out`` is refused at once, and a ``.partial-`` folder that a killed run left is removed by the
next run that takes the lock.
"""

import contextlib
import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from .. import _signals
from .._io import atomic_path
from ..errors import WriteError
from .parser import UsageError

try:
    import fcntl
except ImportError:  # not POSIX: runs are not locked against each other
    fcntl = None


class FolderLock:
    """An exclusive, advisory lock on a folder's name, released by :meth:`release` or when the
    process ends however it ends (``flock``: a killed run leaves no stale lock)."""

    def __init__(self, folder):
        self.path = folder.parent / f".{folder.name}.lock"
        self.fd = None

    def acquire(self):
        """Take the lock; False when another process holds it."""
        if fcntl is None:
            return True
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            try:  # the holder before may have removed the file between our open and our lock
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    self.fd = fd
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
                    return True
            except FileNotFoundError:
                pass
            os.close(fd)

    def holder(self):
        """The process id written by the lock's holder, as text ("" when unknown)."""
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def release(self):
        if self.fd is not None:
            self.path.unlink(missing_ok=True)
            os.close(self.fd)
            self.fd = None


def in_use(flag, folder, lock):
    """The message for a folder whose lock another run holds."""
    pid = lock.holder()
    return (f"{flag} {str(folder)!r} is being written by another sparseae run"
            f"{f' (process {pid})' if pid else ''}; wait for it or choose another")


@contextlib.contextmanager
def opened(make):
    """``with opened(lambda: RunFolder(...)) as run:`` the folder made (``make()``, maybe None) with
    signals held back, so that an interrupt from the folder's first step on finds it inside the
    block whose end removes it unless committed (made, then entered a line later, a SIGINT in
    between left ``.NAME.partial-XXXX`` and ``.NAME.lock`` behind)."""
    with contextlib.ExitStack() as stack:
        with _signals.deferred():
            run = make()
            if run is not None:
                stack.enter_context(run)
        yield run


def write_json(obj, path):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")


class RunFolder:
    """``with RunFolder(out, overwrite) as run:`` write into ``run.path``, then ``run.commit()``.

    ``out`` None: a new folder ``runs/<date>-<time>`` in the current folder. An ``out`` that exists
    and is not empty is refused unless ``overwrite``, which replaces it when the new one is
    complete.
    """

    def __init__(self, out=None, overwrite=False, flag="--out"):
        if out:
            final = Path(out)
            if final.is_symlink() and final.exists():  # written where the link points; the link stays
                final = Path(os.path.realpath(final))
            candidates = [final]
        else:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            candidates = [Path("runs") / n for n in [stamp] + [f"{stamp}-{k}" for k in range(1, 1000)]]
        self._created = [p for p in reversed(candidates[0].parents) if not p.exists()]
        try:
            candidates[0].parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteError(f"cannot write to {str(candidates[0].parent)!r}: {exc.strerror or exc}") from None
        self.lock = None
        try:
            for final in candidates:  # a default name another run has taken, or is taking: the next
                lock = FolderLock(final)
                if lock.acquire():
                    if out or not final.exists():
                        self.final, self.lock = final, lock
                        break
                    lock.release()
                elif out:
                    raise UsageError(in_use(flag, final, lock))
            else:
                raise UsageError(f"every run name {candidates[0]}[-K] for K < 1000 is taken; give --out")
            self._check_final(overwrite, flag)
            self._remove_leftovers()
            self.path = Path(tempfile.mkdtemp(dir=self.final.parent, prefix=f".{self.final.name}.partial-"))
        except OSError as exc:
            self._release()
            raise WriteError(f"cannot write to {str(candidates[0].parent)!r}: {exc.strerror or exc}") from None
        except BaseException:
            self._release()
            raise
        self.committed = False

    def _check_final(self, overwrite, flag):
        final = self.final
        if final.is_symlink() and not final.exists():
            raise UsageError(f"{flag} {str(final)!r} is a broken symbolic link; remove it or choose another")
        if final.exists() and not (final.is_dir() and not any(final.iterdir())):
            if not (overwrite and final.is_dir()):
                hint = " or pass --overwrite" if final.is_dir() else ""
                raise UsageError(f"{flag} {str(final)!r} already exists and is not an empty folder; "
                                 f"choose another{hint}")

    def _remove_leftovers(self):
        """``.NAME.partial-*`` folders a killed run left (the lock says none is being written)."""
        for leftover in self.final.parent.glob(f".{self.final.name}.partial-*"):
            shutil.rmtree(leftover, ignore_errors=True)

    def __enter__(self):
        return self

    def begin(self, record):
        """Make the folder exist from the start (for checkpoints): ``record(path)`` writes what it
        holds first; a failure leaves nothing."""
        try:
            record(self.path)
            self.commit()
        except BaseException:
            self.__exit__()
            raise

    def commit(self):
        """Rename the written folder to its final name (replacing an old one for --overwrite)."""
        old = None
        try:
            if self.final.exists():
                if any(self.final.iterdir()):
                    old = self.final.with_name(f"{self.path.name}.old")
                    os.replace(self.final, old)
                else:
                    self.final.rmdir()
            os.replace(self.path, self.final)
        except OSError as exc:
            raise WriteError(f"cannot write {str(self.final)!r}: {exc.strerror or exc}") from None
        self.committed = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def _remove_created(self):
        for parent in reversed(self._created):
            try:
                parent.rmdir()
            except OSError:
                break

    def _release(self):
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        self._remove_created()

    def __exit__(self, *exc):
        if not self.committed:
            shutil.rmtree(self.path, ignore_errors=True)
        self._release()
        return False
