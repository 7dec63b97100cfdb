"""``python -m sparseae``: the same entry as the installed command."""

from ._entry import run

if __name__ == "__main__":
    run()
