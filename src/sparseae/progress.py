"""The progress display during training: a tqdm bar with the iteration, the cost, the cost on
held-out rows when there are some, and tqdm's estimate of the time left."""

from tqdm.auto import tqdm


class Progress:
    """Context manager whose ``update(iteration, cost, validation=None)`` feeds a progress bar
    (or nothing)."""

    def __init__(self, total, enabled=True, description="training", initial=0):
        self.total, self.initial = total, initial
        self.enabled = enabled
        self.description = description
        self._bar = None

    def __enter__(self):
        if self.enabled:
            self._bar = tqdm(total=self.total, initial=self.initial, desc=self.description, unit="it", leave=True)
        return self

    def update(self, iteration, cost, validation=None):
        if self._bar is not None:
            self._bar.update(iteration - self._bar.n)
            shown = {"cost": f"{cost:.6g}"}
            if validation is not None:
                shown["held-out"] = f"{validation:.6g}"
            self._bar.set_postfix(shown, refresh=False)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.close()
        return False
