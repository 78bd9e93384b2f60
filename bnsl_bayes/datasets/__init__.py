"""Bundled real scaling curves: 4-digit addition from the BNSL paper and the Revisiting benchmark.

>>> from bnsl_bayes import datasets
>>> datasets.list()
['four_digit_addition', 'four_digit_addition_noiseless', 'revisiting']
>>> curve = datasets.load("four_digit_addition")
>>> int(curve.n_points), int(curve.held_out.sum())
(17, 3)
>>> bench = datasets.load("revisiting")          # 92 curves, keyed "Domain/Task/Model"
>>> one = datasets.load("revisiting/IC/bird_5/MiX/B/16")

Sources, licences and facts of each file are in ``README.md`` next to this module. The CSV files
are shipped byte-identical to their sources; their quirks (unsorted rows, repeated rows) are
handled here.

``datasets.list`` is an alias of :func:`list_datasets`, resolved by the module's ``__getattr__``
so that the builtin ``list`` is not shadowed inside this module nor by ``import *``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from importlib.resources import files
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bnsl_bayes.data import Curve, DataError

__all__ = [
    "FOUR_DIGIT_ADDITION_TRUTH",
    "CurveCollection",
    "CurveInfo",
    "describe",
    "list_datasets",
    "load",
]

#: Ground-truth 1-break law of the paper's noiseless 4-digit addition simulation (Section 6).
FOUR_DIGIT_ADDITION_TRUTH: dict[str, Any] = {
    "a": 0.41388453071629455,
    "b": 2.2772722897737556,
    "c0": 0.055077348404973955,
    "c": [5.662903816010331],
    "d": [612.5836172918001],
    "f": [0.059193036393742314],
}

#: x values of the noiseless simulation: 1, 2, ..., 4095.
_NOISELESS_X_MAX = 4095
#: Default last fitted x of the noiseless curve (the paper: x <= 405 extrapolates well).
_NOISELESS_FIT_UPTO = 405.0

_REVISITING = "revisiting"
_REVISITING_FILES = ("revisiting_vision.csv", "revisiting_lang.csv")
_REVISITING_COLUMNS = ("Domain", "Task", "Model", "Seen Examples", "Loss", "Training")

#: Axis labels of the curves (README.md in this folder: what x and y measure).
_ADDITION_X_LABEL = "training set size"
_ADDITION_Y_LABEL = "test cross-entropy"
_REVISITING_X_LABEL = "examples seen"
_REVISITING_Y_LABELS = {
    "IC": "few-shot error rate",
    "NMT": "log-perplexity",
    "LM": "validation log-loss",
    "BB": "BIG-bench metric",
}

_DESCRIPTIONS: dict[str, str] = {
    "four_digit_addition": (
        "BNSL paper Fig. 5 left: transformer on 4-digit addition, x = training set size, "
        "y = test cross-entropy (mean of >1000 seeds); 17 points, last 3 (x = 800-928) held out"
    ),
    "four_digit_addition_noiseless": (
        "BNSL paper Fig. 5 right / Sec. 6: the ground-truth 1-break law at x = 1..4095, no noise; "
        "points x <= fit_upto (default 405) fitted, the rest held out"
    ),
    "revisiting": (
        "Revisiting Neural Scaling Laws benchmark (Alabdulmohsin et al. 2022): 92 curves keyed "
        "'Domain/Task/Model' (IC 72, LM 5, BB 10, NMT 5), largest x held out"
    ),
}


class CurveInfo(NamedTuple):
    """Where a curve of a collection comes from."""

    domain: str
    task: str
    model: str


class CurveCollection(Mapping[str, Curve]):
    """An ordered, read-only mapping of curve name to :class:`~bnsl_bayes.data.Curve`.

    Parameters
    ----------
    curves : Mapping[str, Curve]
        The curves, in the order to keep.
    info : Mapping[str, CurveInfo], optional
        Domain, task and model of each curve (same keys as ``curves``).
    name : str
        A label for the collection.
    """

    def __init__(
        self,
        curves: Mapping[str, Curve],
        info: Mapping[str, CurveInfo] | None = None,
        name: str = "",
    ) -> None:
        self._curves: dict[str, Curve] = dict(curves)
        self._info: dict[str, CurveInfo] = dict(info or {})
        missing = [k for k in self._info if k not in self._curves]
        if missing:
            raise DataError(f"info given for unknown curve(s) {missing[:3]}")
        self.name = name

    def __getitem__(self, key: str) -> Curve:
        try:
            return self._curves[key]
        except KeyError:
            close = difflib.get_close_matches(str(key), self._curves, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise KeyError(
                f"no curve {key!r} in {self.name or 'the collection'}{hint} "
                f"(names are 'Domain/Task/Model'; see .keys())"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._curves)

    def __len__(self) -> int:
        return len(self._curves)

    def __repr__(self) -> str:
        counts = ", ".join(f"{d} {n}" for d, n in self.domain_counts().items())
        detail = f" ({counts})" if counts else ""
        return f"<CurveCollection {self.name!r}: {len(self)} curves{detail}>"

    def info(self, key: str) -> CurveInfo:
        """Domain, task and model of curve ``key``."""
        self[key]  # raises a helpful KeyError for unknown names
        try:
            return self._info[key]
        except KeyError:
            raise KeyError(f"no domain/task/model recorded for curve {key!r}") from None

    def domain_counts(self) -> dict[str, int]:
        """Number of curves per domain, in order of first appearance."""
        out: dict[str, int] = {}
        for key in self._curves:
            if key in self._info:
                d = self._info[key].domain
                out[d] = out.get(d, 0) + 1
        return out

    def select(
        self,
        *,
        domain: str | None = None,
        task: str | None = None,
        model: str | None = None,
        where: Callable[[str, Curve], bool] | None = None,
    ) -> CurveCollection:
        """The curves that match every given criterion, as a new collection.

        Parameters
        ----------
        domain, task, model : str, optional
            Exact domain (e.g. ``"IC"``), task (``"bird_5"``) or model (``"ViT/B/16"``).
        where : callable, optional
            ``where(name, curve) -> bool``, an extra filter.

        Returns
        -------
        CurveCollection
        """
        keep: dict[str, Curve] = {}
        for key, curve in self._curves.items():
            inf = self._info.get(key)
            wanted = (("domain", domain), ("task", task), ("model", model))
            if any(v is not None and (inf is None or getattr(inf, f) != v) for f, v in wanted):
                continue
            if where is not None and not where(key, curve):
                continue
            keep[key] = curve
        info = {k: self._info[k] for k in keep if k in self._info}
        return CurveCollection(keep, info, name=self.name)


# ---------------------------------------------------------------------------- public API
def list_datasets() -> list[str]:
    """Names of the bundled datasets, for :func:`load`.

    Returns
    -------
    list of str
        ``four_digit_addition``, ``four_digit_addition_noiseless`` and ``revisiting``. Single
        curves of a collection load as ``"revisiting/<Domain>/<Task>/<Model>"``.
    """
    return [*_DESCRIPTIONS]


def describe() -> dict[str, str]:
    """One-line description of each bundled dataset.

    Returns
    -------
    dict of str to str
        Dataset name to description (see ``README.md`` in this folder for sources and licences).
    """
    return dict(_DESCRIPTIONS)


def load(name: str, *, fit_upto: float | None = None) -> Curve | CurveCollection:
    """Load a bundled dataset, or one curve of a collection.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`, or ``"revisiting/<Domain>/<Task>/<Model>"`` for a single
        curve of the Revisiting benchmark (e.g. ``"revisiting/IC/bird_5/MiX/B/16"``).
    fit_upto : float, optional
        Points with x <= ``fit_upto`` are fitted and the others held out. Default: the split of
        the data (the paper's); 405 for ``four_digit_addition_noiseless``. Not accepted for the
        whole ``revisiting`` collection, whose curves span different x ranges.

    Returns
    -------
    Curve or CurveCollection
        A :class:`~bnsl_bayes.data.Curve`, or for ``"revisiting"`` a :class:`CurveCollection`
        of 92 curves keyed ``"Domain/Task/Model"``.

    Raises
    ------
    DataError
        An unknown name (the message lists the valid ones), or ``fit_upto`` given for a
        collection or not a finite x > 0.
    """
    if not isinstance(name, str):
        raise DataError(f"dataset name must be a string, got {type(name).__name__}")
    key = name.strip()
    if key == _REVISITING:
        if fit_upto is not None:
            raise DataError(
                "fit_upto applies to one curve, not to the whole 'revisiting' collection; load "
                "one curve ('revisiting/<Domain>/<Task>/<Model>') or call "
                ".fit_upto(x) on its curves"
            )
        return _load_revisiting()
    if key == "four_digit_addition_noiseless":
        return _four_digit_addition_noiseless(
            _NOISELESS_FIT_UPTO if fit_upto is None else fit_upto
        )
    if key.startswith(_REVISITING + "/"):
        curve = _load_revisiting_curve(key[len(_REVISITING) + 1 :])
    elif key == "four_digit_addition":
        curve = _load_four_digit_addition()
    else:
        close = difflib.get_close_matches(key, list_datasets(), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"unknown dataset {name!r}; valid names: {', '.join(map(repr, list_datasets()))}, "
            f"or 'revisiting/<Domain>/<Task>/<Model>' for one Revisiting curve.{hint} "
            f"Fix: pass one of these names (bnsl_bayes.datasets.list() lists them)"
        )
    if fit_upto is not None:
        curve = curve.fit_upto(float(fit_upto))
    return curve


def __getattr__(name: str) -> Any:
    # ``datasets.list()`` without shadowing the builtin inside this module (PEP 562).
    if name == "list":
        return list_datasets
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "list"])


# ---------------------------------------------------------------------------- loaders
def _read_csv(filename: str, **kwargs: Any) -> pd.DataFrame:
    with files(__name__).joinpath(filename).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, **kwargs)


def _load_four_digit_addition() -> Curve:
    df = _read_csv("four_digit_addition.csv")
    curve = Curve.from_dataframe(
        df, x="training_set_size", y="test_cross_entropy", split="split",
        name="four_digit_addition",
    )
    return replace(curve, x_label=_ADDITION_X_LABEL, y_label=_ADDITION_Y_LABEL)


def _four_digit_addition_noiseless(fit_upto: float) -> Curve:
    import jax

    from bnsl_bayes.law import bnsl

    fit_upto = float(fit_upto)
    if not np.isfinite(fit_upto) or fit_upto <= 0:
        raise DataError(f"fit_upto = {fit_upto!r}: expected a finite x > 0")
    t = FOUR_DIGIT_ADDITION_TRUTH
    x = np.arange(1, _NOISELESS_X_MAX + 1, dtype=np.float64)
    with jax.enable_x64(True):
        y = np.asarray(
            bnsl(x, a=t["a"], b=t["b"], c0=t["c0"], c=np.asarray(t["c"], dtype=np.float64),
                 d=np.asarray(t["d"], dtype=np.float64), f=np.asarray(t["f"], dtype=np.float64)),
            dtype=np.float64,
        )
    return Curve.from_arrays(x, y, held_out=x > fit_upto, name="four_digit_addition_noiseless",
                             x_label=_ADDITION_X_LABEL, y_label=_ADDITION_Y_LABEL)


def _revisiting_frame() -> pd.DataFrame:
    """Both Revisiting files as one table, repeated rows dropped, in file order."""
    text = {"Domain": str, "Task": str, "Model": str}  # keep "1.68e+07" etc. as names
    parts = []
    for filename in _REVISITING_FILES:
        df = _read_csv(filename, dtype=text)
        missing = [c for c in _REVISITING_COLUMNS if c not in df.columns]
        if missing:  # pragma: no cover - the bundled files are fixed
            raise DataError(f"{filename} lacks column(s) {missing}")
        parts.append(df.loc[:, list(_REVISITING_COLUMNS)])
    df = pd.concat(parts, ignore_index=True)
    # Every language-model row appears exactly 4 times (the whole block is repeated): these are
    # copies, not seeds, so drop identical rows before building curves.
    return df.drop_duplicates(ignore_index=True)


def _revisiting_curve(key: str, rows: pd.DataFrame) -> Curve:
    curve = Curve.from_dataframe(rows, x="Seen Examples", y="Loss", split="Training", name=key)
    domain = key.split("/", 1)[0]
    return replace(curve, x_label=_REVISITING_X_LABEL,
                   y_label=_REVISITING_Y_LABELS.get(domain, "loss"))


def _group_key(domain: str, task: str, model: str) -> str:
    return f"{domain}/{task}/{model}"


def _load_revisiting() -> CurveCollection:
    df = _revisiting_frame()
    curves: dict[str, Curve] = {}
    info: dict[str, CurveInfo] = {}
    for (domain, task, model), rows in df.groupby(["Domain", "Task", "Model"], sort=False):
        key = _group_key(domain, task, model)
        curves[key] = _revisiting_curve(key, rows)
        info[key] = CurveInfo(domain, task, model)
    return CurveCollection(curves, info, name=_REVISITING)


def _load_revisiting_curve(key: str) -> Curve:
    df = _revisiting_frame()
    keys = df["Domain"] + "/" + df["Task"] + "/" + df["Model"]
    rows = df[keys == key]
    if len(rows) == 0:
        close = difflib.get_close_matches(key, list(dict.fromkeys(keys)), n=3, cutoff=0.6)
        hint = (
            " Did you mean " + ", ".join(repr(f"{_REVISITING}/{c}") for c in close) + "?"
            if close
            else ""
        )
        raise DataError(
            f"no Revisiting curve {key!r}; names are 'revisiting/<Domain>/<Task>/<Model>' with "
            f"Domain one of IC, LM, BB, NMT (e.g. 'revisiting/IC/bird_5/MiX/B/16').{hint} "
            f"Fix: pick one of the keys of bnsl_bayes.datasets.load('revisiting')"
        )
    return _revisiting_curve(key, rows)
