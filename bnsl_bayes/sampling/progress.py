"""Progress of sampling iterations and of the curves of a batch, drawn by tqdm.

tqdm (installed with NumPyro) draws a text bar on standard error in a terminal and a widget in a
notebook (``tqdm.auto``). What this module adds is the protocol of the compiled loop's host
callbacks: they report cumulative counts, possibly late and out of order when chains run on
several devices or threads.
"""

from __future__ import annotations

import sys
import threading

from tqdm.auto import tqdm

__all__ = ["Bar"]


class Bar:
    """A progress bar fed with cumulative counts: call it as ``bar(done, total)``.

    A count below the last one starts a new bar if it is within the first 1% of its run (a new
    run: the next fit of a batch); otherwise it is a late report of an earlier step and is
    skipped, as is a repeat of the last count. The bar closes (ends its line) when ``done``
    reaches ``total``.

    Parameters
    ----------
    label : str
        What is being done ("sampling").
    unit : str
        What is counted ("iterations").
    """

    def __init__(self, label: str, unit: str) -> None:
        self.label, self.unit = label, unit
        self.last = -1
        self._bar: tqdm | None = None
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        with self._lock:  # JAX may run host callbacks of a vectorized loop on several threads
            self._update(int(done), max(int(total), 1))

    def _update(self, done: int, total: int) -> None:
        step = max(total // 100, 1)
        if 0 <= done < self.last and done > step:  # a late report of an earlier step
            return
        if done == self.last:  # the same count again (chains on several devices report it)
            return
        if self._bar is None or done < self.last:  # a new run
            if self._bar is not None:
                self._bar.close()
            self._bar = tqdm(total=total, desc=self.label, unit=f" {self.unit}", file=sys.stderr,
                             dynamic_ncols=True)
            self.last = 0
        self._bar.update(done - self.last)
        self.last = done
        if done >= total:
            self._bar.close()
            self._bar = None
