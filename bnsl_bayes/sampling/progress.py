"""A one-line text progress bar on standard error (sampling iterations, curves of a batch)."""

from __future__ import annotations

import sys
import threading
import time

__all__ = ["Bar"]


class Bar:
    """Draws ``label [#####.....] done/total unit`` in place on standard error.

    Call it with ``(done, total)`` as work finishes; it redraws at most about 100 times per run
    and ends the line when ``done == total``. A call with ``done`` smaller than the last one
    starts a new run if it is within the first 1% (else it is a late report and is skipped); a
repeat of the last count is skipped.

    Parameters
    ----------
    label : str
        What is being done ("sampling").
    unit : str
        What is counted ("iterations").
    """

    width = 30

    def __init__(self, label: str, unit: str) -> None:
        self.label, self.unit = label, unit
        self.last = -1
        self.t0 = 0.0
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        with self._lock:  # JAX may run host callbacks of a vectorized loop on several threads
            self._draw(int(done), max(int(total), 1))

    def _draw(self, done: int, total: int) -> None:
        step = max(total // 100, 1)
        if 0 <= done < self.last and done > step:  # a late report of an earlier step
            return
        if done == self.last:  # the same count again (chains on several devices report it)
            return
        if self.last < 0 or done < self.last:  # a new run: time from here
            self.last, self.t0 = -1, time.perf_counter()
        if self.last >= 0 and done // step == self.last // step and done != total:
            return
        self.last = done
        fill = self.width * min(done, total) // total
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{self.label} [{'#' * fill}{'.' * (self.width - fill)}] "
                         f"{done}/{total} {self.unit} {time.perf_counter() - self.t0:5.0f} s{end}")
        sys.stderr.flush()
