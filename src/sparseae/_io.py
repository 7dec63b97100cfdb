"""Writing files so that an interrupted or failed write never leaves a half file under the real
name, nor a temporary file beside it."""

import errno
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from . import _signals
from .errors import WriteError


def write_failure(path, exc):
    """One line for an OSError (or a library's error wrapping one) met writing ``path``."""
    text = getattr(exc, "strerror", None) or " ".join(str(exc).split()) or type(exc).__name__
    if "No space left" in str(exc) or "StorageFull" in str(exc):
        text = "No space left on device"
    return f"cannot write {str(path)!r}: {text}"


@contextmanager
def atomic_path(path, errors=(OSError,)):
    """Yield a temporary path beside ``path``; when the block succeeds, rename it over ``path``.

    The file gets the permissions a plain ``open(path, "w")`` would (0666 less the umask).
    If the block raises, the temporary file is removed and ``path`` is left as it was; an
    exception of ``errors`` (a full disk, a permission) becomes one :class:`WriteError`. A
    ``path`` that is a folder is refused before anything is written.
    """
    path = Path(path)
    if path.is_dir():
        raise WriteError(f"cannot write {str(path)!r}: it is a folder; give a file name")
    tmp = None
    try:
        with _signals.deferred():  # an interrupt waits until the file has a name the finally removes
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            except OSError as exc:
                raise WriteError(write_failure(path, exc)) from None
            tmp = Path(name)
            os.close(fd)
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except WriteError:
        raise
    except errors as exc:
        raise WriteError(write_failure(path, exc)) from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def read_json_object(path):
    """The JSON object (a dict) in ``path``; FileNotFoundError when it is missing, and one
    DataError when it is unreadable, not JSON, nested too deep to parse, or not an object."""
    import json

    from .errors import DataError

    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except RecursionError:
        raise DataError(f"{str(path)!r} is damaged: its JSON nests too deep to read") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{str(path)!r} is damaged: {exc}") from None
    if not isinstance(value, dict):
        raise DataError(f"{str(path)!r} is damaged: it holds a JSON {type(value).__name__}, not an object")
    return value


def reserve(path, size):
    """Give the file ``path`` its ``size`` bytes on disk now, so that writing it through a memory
    map cannot meet a full disk later (which would kill the process with SIGBUS): an OSError
    (ENOSPC) here instead. Where the file system cannot allocate ahead, its free space is checked."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, size)
    except (AttributeError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
        if shutil.disk_usage(Path(path).parent).free < size - os.fstat(fd).st_size:
            raise WriteError(f"cannot write {str(path)!r}: {os.strerror(errno.ENOSPC)}") from None
    finally:
        os.close(fd)


def cache_dir():
    """Where built data and measured choices are cached: ``$SPARSEAE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/sparseae`` (``~/.cache/sparseae``)."""
    if os.environ.get("SPARSEAE_CACHE_DIR"):
        return Path(os.environ["SPARSEAE_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sparseae"
