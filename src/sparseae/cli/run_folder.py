"""A folder of results that appears whole or not at all.

Its files are written into a hidden folder beside the final one (``.NAME.partial-XXXX``), which
is renamed to the final name only when everything is written: a failure, a Ctrl-C or a kill at
any instant leaves either the complete folder or nothing under the final name (and no empty
folder: parents the run created are removed again).
"""

import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from .._io import atomic_path
from ..errors import DataError
from .parser import UsageError


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
            self.final = Path(out)
        else:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            names = [stamp] + [f"{stamp}-{k}" for k in range(1, 1000)]
            self.final = next(Path("runs") / n for n in names if not (Path("runs") / n).exists())
        if self.final.exists() and not (self.final.is_dir() and not any(self.final.iterdir())):
            if not (overwrite and self.final.is_dir()):
                hint = " or pass --overwrite" if self.final.is_dir() else ""
                raise UsageError(f"{flag} {str(self.final)!r} already exists and is not an empty folder; "
                                 f"choose another{hint}")
        self._created = [p for p in reversed(self.final.parents) if not p.exists()]
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(dir=self.final.parent, prefix=f".{self.final.name}.partial-"))
        except OSError as exc:
            self._remove_created()
            raise DataError(f"cannot write to {str(self.final.parent)!r}: {exc.strerror or exc}") from None
        self.committed = False

    def __enter__(self):
        return self

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
            raise DataError(f"cannot write {str(self.final)!r}: {exc.strerror or exc}") from None
        self.committed = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def _remove_created(self):
        for parent in reversed(self._created):
            try:
                parent.rmdir()
            except OSError:
                break

    def __exit__(self, *exc):
        if not self.committed:
            shutil.rmtree(self.path, ignore_errors=True)
            self._remove_created()
        return False
