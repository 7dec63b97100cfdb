"""The progress display during training: a tqdm bar with the iteration and the cost."""

from tqdm.auto import tqdm


class Progress:
    """Context manager whose ``update(iteration, cost)`` feeds a progress bar (or nothing)."""

    def __init__(self, total, enabled=True, description="training"):
        self.total = total
        self.enabled = enabled
        self.description = description
        self._bar = None

    def __enter__(self):
        if self.enabled:
            self._bar = tqdm(total=self.total, desc=self.description, unit="it", leave=True)
        return self

    def update(self, iteration, cost):
        if self._bar is not None:
            self._bar.update(iteration - self._bar.n)
            self._bar.set_postfix(cost=f"{cost:.6g}", refresh=False)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.close()
        return False
