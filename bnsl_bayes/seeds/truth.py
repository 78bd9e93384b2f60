"""The law a seeds study simulates from: checked, and evaluated at any x."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..bands import curve_draws

__all__ = ["law_from_mapping", "law_mu"]

_LAW_KEYS = ("a", "b", "c0", "c", "d", "f")


def law_from_mapping(truth: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(truth) - set(_LAW_KEYS) - {"sigma"})
    if unknown:
        raise ValueError(f"truth has unknown key(s) {unknown}; expected a, b, c0 and, per break, "
                         f"lists c, d, f")
    missing = [k for k in ("a", "b", "c0") if k not in truth]
    if missing:
        raise ValueError(f"truth lacks {missing}; give a, b, c0 (and lists c, d, f per break)")
    law: dict[str, Any] = {}
    for k in ("a", "b", "c0"):
        try:
            law[k] = float(truth[k])
        except (TypeError, ValueError):
            raise ValueError(f"truth[{k!r}] = {truth[k]!r}: expected a number") from None
    per = {}
    for k in ("c", "d", "f"):
        try:
            per[k] = np.atleast_1d(np.asarray(truth.get(k, []), dtype=float)).ravel()
        except (TypeError, ValueError):
            raise ValueError(f"truth[{k!r}] = {truth[k]!r}: expected a list of numbers") from None
    if len({v.size for v in per.values()}) != 1:
        raise ValueError(f"truth: c, d, f must have one value per break each, got lengths "
                         f"{[v.size for v in per.values()]}")
    law.update(per)
    values = np.concatenate([[law["a"], law["b"], law["c0"]], *per.values()])
    if not np.all(np.isfinite(values)):
        raise ValueError("truth: every parameter must be finite")
    if law["b"] <= 0 or np.any(per["d"] <= 0) or np.any(per["f"] <= 0):
        raise ValueError("truth: b, every d and every f must be > 0")
    return law




def law_mu(law: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    d = {"a": np.array([law["a"]]), "log_b": np.array([math.log(law["b"])]),
         "c0": np.array([law["c0"]]), "c": np.asarray(law["c"], dtype=float)[None, :],
         "d": np.asarray(law["d"], dtype=float)[None, :],
         "f": np.asarray(law["f"], dtype=float)[None, :]}
    return curve_draws(d, x)[0]


