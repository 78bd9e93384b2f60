"""Scaling curves: validation, aggregation of seeds, loading from arrays, DataFrames and CSV.

Every check on user data lives here and runs before anything is compiled, so bad input gives a
:class:`DataError` (a ``ValueError``) that names the value, says what was expected and how to fix
it, never a JAX traceback.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from dataclasses import dataclass, replace
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["Curve", "DataError", "NoiseSpace"]

NoiseSpace = Literal["log", "linear"]


class DataError(ValueError):
    """User data that cannot be fitted as given."""


def _short_repr(v: object, limit: int = 40) -> str:
    text = repr(v)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def _as_float_array(values: ArrayLike, name: str) -> np.ndarray:
    # OverflowError: a Python int beyond float64 (a 400-digit integer in a CSV cell)
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raw = np.asarray(values, dtype=object).ravel()
        for i, v in enumerate(raw):
            try:
                float(v)
            except OverflowError:
                raise DataError(
                    f"{name}[{i}] = {_short_repr(v)} is too large for a float64 number "
                    f"(|value| < 1.8e308); rescale the {name} column"
                ) from None
            except (TypeError, ValueError):
                raise DataError(
                    f"{name}[{i}] = {_short_repr(v)} is not a number; give numeric values "
                    f"(check the {name} column for text or stray characters)"
                ) from None
        raise DataError(f"{name} could not be read as numbers") from None
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {arr.shape}; flatten it first")
    return arr


def _first_bad(arr: np.ndarray, bad: np.ndarray) -> tuple[int, float]:
    i = int(np.flatnonzero(bad)[0])
    return i, float(arr[i])



def read_table(source: str | PathLike | io.TextIOBase, *, name: str | None = None) -> pd.DataFrame:
    """Read a CSV file or text stream into a DataFrame, with clear errors.

    Parameters
    ----------
    source : str, path or text stream
        The CSV (UTF-8, a header row, comma-separated).
    name : str, optional
        A label for error messages (default: the path or the stream's name).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataError
        The file is missing, a folder, empty, not UTF-8 or not a CSV table; duplicated column
        names; a row with more fields than the header.
    """
    label = name if name is not None else str(getattr(source, "name", source))
    if hasattr(source, "read"):
        try:
            text = source.read()
        except UnicodeDecodeError:  # e.g. binary data on standard input
            raise DataError(f"{label!r} is not UTF-8 text; save the CSV as UTF-8") from None
    else:
        path = Path(source)
        if not path.exists():
            raise DataError(f"no such file: {str(source)!r}; check the path")
        if path.is_dir():
            raise DataError(f"{str(source)!r} is a folder, not a CSV file")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(f"{label!r} is not UTF-8 text; save the CSV as UTF-8") from None
    if isinstance(text, bytes):
        raise DataError(f"{label!r}: open the CSV in text mode, not binary")
    try:  # bytes that were not UTF-8, kept as lone surrogates (stdin's surrogateescape)
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DataError(f"{label!r} is not UTF-8 text; save the CSV as UTF-8") from None
    try:  # newline=None: old Mac line ends (\r) as pandas reads them
        header = next(csv.reader(io.StringIO(text, newline=None)), [])
    except csv.Error as exc:  # a field past csv's size limit, ...
        raise DataError(f"{label!r} is not a readable CSV table ({exc})") from None
    names = [h.strip() for h in header]
    dup = sorted({h for h in names if names.count(h) > 1})
    if dup:
        raise DataError(f"{label!r}: duplicated column name(s) {dup}; give every column "
                        f"its own name")
    try:
        # index_col=False: rows with more fields than the header are an error, not a
        # silent shift of every column by one (pandas' implicit index column)
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(io.StringIO(text), skipinitialspace=True, index_col=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{label!r} is empty; give a CSV with a header row and data") from None
    except pd.errors.ParserWarning:
        raise DataError(f"{label!r}: a row has more fields than the header "
                        f"({len(header)} column(s)); remove the extra values or name "
                        f"every column in the header") from None
    except (pd.errors.ParserError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{label!r} is not a readable CSV table ({first})") from None
    if len(df) == 0:
        raise DataError(f"{label!r} has a header but no data rows")
    if len(df.columns) == 1:
        sep = next((c for c in ";\t|" if c in str(df.columns[0])), None)
        if sep is not None:
            raise DataError(f"{label!r} has one column {_short_repr(df.columns[0])}: the "
                            f"values seem separated by {sep!r}; save the table with commas")
    return df

@dataclass(frozen=True, eq=False)
class Curve:
    """One scaling curve: the mean of y over ``seeds`` runs at each distinct x.

    Build it with :meth:`from_arrays`, :meth:`from_dataframe` or :meth:`from_csv`, which validate
    the input and aggregate several rows at the same x (one row per seed) into a mean, a count and
    a spread.

    Attributes
    ----------
    x : numpy.ndarray
        Distinct x values (> 0), increasing.
    y : numpy.ndarray
        Mean of y over the runs at each x.
    seeds : numpy.ndarray
        Number of runs averaged into each point (>= 1).
    std : numpy.ndarray
        Per-run standard deviation of y across the runs at each x, NaN where unknown.
    held_out : numpy.ndarray of bool
        True for points kept out of the fit (shown and scored as extrapolation).
    name : str
        A label for reports and plots.
    """

    x: np.ndarray
    y: np.ndarray
    seeds: np.ndarray
    std: np.ndarray
    held_out: np.ndarray
    name: str = ""

    def __post_init__(self) -> None:
        n = len(self.x)
        for field in ("y", "seeds", "std", "held_out"):
            if len(getattr(self, field)) != n:
                raise DataError(f"Curve.{field} has {len(getattr(self, field))} values, x has {n}")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(
        cls,
        x: ArrayLike,
        y: ArrayLike,
        *,
        seeds: ArrayLike | None = None,
        std: ArrayLike | None = None,
        held_out: ArrayLike | None = None,
        name: str = "",
    ) -> Curve:
        """Validate and aggregate arrays into a Curve.

        Parameters
        ----------
        x, y : array_like
            The scaled quantity (> 0) and the metric, one value per row.
        seeds : array_like, optional
            Number of runs averaged into each row (whole numbers >= 1); default 1 per row.
            Several rows at the same x are combined into one point whose mean weighs each row by
            its seeds and whose count is their sum.
        std : array_like, optional
            Per-run standard deviation of y at each row (>= 0; NaN = unknown). When rows at the
            same x are single runs, their spread is computed from them instead.
        held_out : array_like of bool, optional
            True for rows kept out of the fit. Rows at the same x must agree.
        name : str
            A label for reports.

        Returns
        -------
        Curve

        Raises
        ------
        DataError
            Mismatched lengths, non-numeric, NaN or infinite values, x <= 0, seeds < 1 or not
            whole, negative std, or no rows at all.
        """
        xa = _as_float_array(x, "x")
        ya = _as_float_array(y, "y")
        if len(xa) != len(ya):
            raise DataError(
                f"x has {len(xa)} values but y has {len(ya)}; give one y per x (same length)"
            )
        if len(xa) == 0:
            raise DataError("the curve has no points; give at least one (x, y) pair")
        for name_, arr in (("x", xa), ("y", ya)):
            bad = ~np.isfinite(arr)
            if bad.any():
                i, v = _first_bad(arr, bad)
                raise DataError(
                    f"{name_}[{i}] = {v}: every {name_} must be a finite number; "
                    f"drop or fix that row"
                )
        if (xa <= 0).any():
            i, v = _first_bad(xa, xa <= 0)
            raise DataError(
                f"x[{i}] = {v:g}: x must be > 0 (the law uses log x); drop that row or shift x"
            )
        if seeds is None:
            sa = np.ones_like(xa)
        else:
            sa = _as_float_array(seeds, "seeds")
            if len(sa) != len(xa):
                raise DataError(
                    f"seeds has {len(sa)} values but x has {len(xa)}; give one count per row"
                )
            bad = ~np.isfinite(sa) | (sa < 1) | (sa != np.round(sa))
            if bad.any():
                i, v = _first_bad(sa, bad)
                raise DataError(
                    f"seeds[{i}] = {v:g}: seeds must be whole numbers >= 1 (the number of runs "
                    f"averaged into that point); fix that value or leave seeds out for 1 per row"
                )
        if std is None:
            da = np.full_like(xa, np.nan)
        else:
            da = _as_float_array(std, "std")
            if len(da) != len(xa):
                raise DataError(f"std has {len(da)} values but x has {len(xa)}; one per row")
            bad = np.isinf(da) | (da < 0)
            if bad.any():
                i, v = _first_bad(da, bad)
                raise DataError(f"std[{i}] = {v:g}: std must be >= 0 and finite (NaN = unknown)")
        if held_out is None:
            ha = np.zeros(len(xa), dtype=bool)
        else:
            ha = np.asarray(held_out)
            if ha.ndim != 1:
                raise DataError(f"held_out must be one-dimensional, got shape {ha.shape}; give "
                                f"one True/False per row")
            if ha.shape != xa.shape:
                raise DataError(f"held_out has {ha.size} values but x has {len(xa)}")
            # strings such as "no" would all be True under astype(bool): only bools and 0/1
            if ha.dtype != bool:
                for i, v in enumerate(ha.tolist()):
                    if not (isinstance(v, bool) or (isinstance(v, int | float) and v in (0, 1))):
                        raise DataError(f"held_out[{i}] = {_short_repr(v)}: expected True/False "
                                        f"(or 1/0), True for rows kept out of the fit")
            ha = ha.astype(bool)
        return cls._aggregate(xa, ya, sa, da, ha, name)

    @classmethod
    def _aggregate(cls, x, y, seeds, std, held_out, name) -> Curve:
        order = np.argsort(x, kind="stable")
        x, y, seeds, std, held_out = (v[order] for v in (x, y, seeds, std, held_out))
        ux, start = np.unique(x, return_index=True)
        if len(ux) == len(x):
            return cls(x, y, seeds, std, held_out, name)
        bounds = list(start) + [len(x)]
        mx, my, ms, md, mh = [], [], [], [], []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            w = seeds[lo:hi]
            h = held_out[lo:hi]
            if h.any() != h.all():
                raise DataError(
                    f"rows at x = {x[lo]:g} are partly held out and partly fitted; "
                    f"mark all rows at the same x the same way"
                )
            mean = float(np.sum(w * y[lo:hi]) / np.sum(w))
            if hi - lo >= 2 and np.all(w == 1):
                sd = float(np.std(y[lo:hi], ddof=1))
            elif hi - lo == 1:
                sd = float(std[lo])
            else:
                sd = math.nan
            mx.append(x[lo])
            my.append(mean)
            ms.append(float(np.sum(w)))
            md.append(sd)
            mh.append(bool(h[0]))
        return cls(
            np.array(mx), np.array(my), np.array(ms), np.array(md), np.array(mh, dtype=bool), name
        )

    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        *,
        x: str = "x",
        y: str = "y",
        seeds: str | None = None,
        std: str | None = None,
        split: str | None = None,
        name: str = "",
    ) -> Curve:
        """Build a Curve from columns of a DataFrame (one row per point or per run).

        Parameters
        ----------
        df : pandas.DataFrame
            The table.
        x, y : str
            Column names of the scaled quantity and the metric.
        seeds, std : str, optional
            Columns with the number of runs behind each row and their per-run standard deviation.
        split : str, optional
            A column saying which rows are used for fitting: the words ``fit``/``held_out``
            (``train``/``test`` too), or 1/0 and True/False with 1/True = used for fitting (as the
            Revisiting benchmark's ``Training`` column). Other rows are held out.
        name : str
            A label for reports.

        Returns
        -------
        Curve
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
        if df.columns.duplicated().any():
            dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
            raise DataError(f"duplicated column name(s) {dup}; give every column its own name")
        wanted = {"x": x, "y": y, "seeds": seeds, "std": std, "split": split}
        for role, col in wanted.items():
            if col is not None and col not in df.columns:
                cols = ", ".join(map(str, df.columns)) or "(none)"
                raise DataError(
                    f"no column {col!r} for {role}; the table has columns: {cols}. "
                    f"Name the right one (CLI: --{role.replace('_', '-')} COL)"
                )
        ho = None if split is None else _parse_split(df[split], split)
        return cls.from_arrays(
            df[x].to_numpy(),
            df[y].to_numpy(),
            seeds=None if seeds is None else df[seeds].to_numpy(),
            std=None if std is None else df[std].to_numpy(),
            held_out=ho,
            name=name,
        )

    @classmethod
    def from_csv(
        cls,
        source: str | PathLike | io.TextIOBase,
        *,
        x: str = "x",
        y: str = "y",
        seeds: str | None = None,
        std: str | None = None,
        split: str | None = None,
        name: str | None = None,
    ) -> Curve:
        """Read a Curve from a CSV file or text stream (see :meth:`from_dataframe`).

        Raises
        ------
        DataError
            The file is missing, empty or not a CSV table, or a column is missing or non-numeric.
        """
        label = name if name is not None else str(getattr(source, "name", source))
        df = read_table(source, name=label)
        return cls.from_dataframe(
            df, x=x, y=y, seeds=seeds, std=std, split=split, name=label
        )

    # ------------------------------------------------------------------ views
    @property
    def n_points(self) -> int:
        """Number of distinct x values."""
        return len(self.x)

    @property
    def fit_mask(self) -> np.ndarray:
        """True for points used in the fit."""
        return ~self.held_out

    def fit_upto(self, x_max: float) -> Curve:
        """A copy in which points with x > ``x_max`` are held out (and the rest are fitted)."""
        if not math.isfinite(x_max) or x_max <= 0:
            raise DataError(f"fit_upto = {x_max!r}: expected a finite x > 0")
        return replace(self, held_out=self.x > x_max)

    def to_dataframe(self) -> pd.DataFrame:
        """The points as a table with columns x, y, seeds, std, held_out."""
        return pd.DataFrame(
            {"x": self.x, "y": self.y, "seeds": self.seeds, "std": self.std,
             "held_out": self.held_out}
        )

    def check_fittable(self, *, n_params: int, space: NoiseSpace, model: str) -> None:
        """Raise :class:`DataError` unless the fit points can be fitted by a form.

        Parameters
        ----------
        n_params : int
            Number of parameters of the law (a fit needs at least as many distinct x).
        space : {"log", "linear"}
            Noise space; ``"log"`` needs every fitted y > 0.
        model : str
            Name of the model, for the message.
        """
        m = self.fit_mask
        n_fit = int(m.sum())
        if n_fit < n_params:
            raise DataError(
                f"{n_fit} fit point(s) for model {model!r}, which has {n_params} parameters; "
                f"give at least {n_params} distinct x values to fit, or use fewer breaks"
            )
        if n_fit >= 1 and np.ptp(np.log(self.x[m])) <= 0:
            raise DataError("all fit points share one x; the fit needs at least two distinct x")
        if space == "log" and (self.y[m] <= 0).any():
            i = int(np.flatnonzero(m & (self.y <= 0))[0])
            raise DataError(
                f"y = {self.y[i]:g} at x = {self.x[i]:g}: the log noise space needs y > 0; "
                f"use space='linear' (CLI: --space linear) for metrics that reach 0 or below"
            )
        if space not in ("log", "linear"):
            raise DataError(f"space = {space!r}: expected 'log' or 'linear'")
        # The model divides y by y at the last fit point (log space) or by max - min (linear):
        # beyond float64 that gives inf or 0 for every point, never an error of its own.
        y = self.y[m]
        if n_fit >= 1 and space == "log":
            decades = float(np.log10(y.max()) - np.log10(y.min()))
            if decades > 300:
                raise DataError(
                    f"the fitted y span {decades:.0f} orders of magnitude (from {y.min():g} to "
                    f"{y.max():g}); the fit needs them within 300 (beyond float64 once "
                    f"standardized); drop or rescale the extreme points"
                )
        if n_fit >= 1 and space == "linear":
            with np.errstate(over="ignore"):
                spread = float(np.ptp(y))
            if not math.isfinite(spread):
                raise DataError(
                    f"the fitted y range from {y.min():g} to {y.max():g}, a spread beyond "
                    f"float64; divide y by a constant (e.g. 1e300) first"
                )


_FIT_WORDS = {"fit", "train", "training", "1", "true", "yes"}
_HELD_WORDS = {"held_out", "held-out", "heldout", "test", "holdout", "0", "false", "no"}


def _parse_split(col: pd.Series, name: str) -> np.ndarray:
    """Column of booleans, 0/1 (1 = fit, as the Revisiting benchmark's Training) or words."""
    if col.dtype == bool:
        return ~col.to_numpy()
    if pd.api.types.is_numeric_dtype(col):
        vals = col.to_numpy(dtype=float)
        bad = ~np.isin(vals, (0.0, 1.0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{name}[{i}] = {col.iloc[i]!r}: expected 1 (used for fitting) or 0 (held out)"
            )
        return vals == 0.0
    words = col.astype(str).str.strip().str.lower()
    out = np.empty(len(col), dtype=bool)
    for i, w in enumerate(words):
        if w in _FIT_WORDS:
            out[i] = False
        elif w in _HELD_WORDS:
            out[i] = True
        else:
            raise DataError(
                f"{name}[{i}] = {col.iloc[i]!r}: expected fit/held_out, train/test or 1/0 "
                f"(1 = used for fitting)"
            )
    return out
