"""Scaling curves: validation, aggregation of seeds, loading from arrays, DataFrames and CSV.

Every check on user data lives here and runs before anything is compiled, so bad input gives a
:class:`DataError` (a ``ValueError``) that names the value, says what was expected and how to fix
it, never a JAX traceback.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from os import PathLike
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .errors import DataError, short_repr
from .tables import check_columns, parse_split, read_table

__all__ = ["Curve", "DataError", "NoiseSpace"]

NoiseSpace = Literal["log", "linear"]

#: The range of x a fit handles. The fit reports the law in x's units (break positions d, which
#: the prior lets lie several fit ranges past the data, and b = y x^c0), and ArviZ's summaries
#: raise draws to the 4th power (the Monte Carlo error of the sd), which leaves float64 for
#: |value| beyond about 1e77 or below 1e-77; 1e-50 ... 1e50 keeps 27 orders of magnitude of
#: room for d and for the prediction grids (4 x the last fit point), and holds every x in
#: practical units (FLOPs, parameters, tokens, learning rates).
X_MIN = 1e-50
X_MAX = 1e50


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
                    f"{name}[{i}] = {short_repr(v)} is too large for a float64 number "
                    f"(|value| < 1.8e308); rescale the {name} column"
                ) from None
            except (TypeError, ValueError):
                raise DataError(
                    f"{name}[{i}] = {short_repr(v)} is not a number; give numeric values "
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


def _broadcast(values: ArrayLike, n: int) -> ArrayLike:
    """One number (``seeds=3``) for every row; arrays are left to the length check."""
    if np.ndim(values) == 0:
        return np.full(n, values, dtype=object)
    return values


def _check_x_range(x: np.ndarray) -> None:
    """x (finite, > 0) within ``X_MIN`` ... ``X_MAX``, else a DataError with the factor to
    divide x by."""
    bad = (x < X_MIN) | (x > X_MAX)
    if not bad.any():
        return
    i, v = _first_bad(x, bad)
    decades = float(np.log10(x.max()) - np.log10(x.min()))
    if decades > math.log10(X_MAX / X_MIN):
        raise DataError(
            f"x[{i}] = {v:g}: x spans {decades:.0f} orders of magnitude (from {x.min():g} to "
            f"{x.max():g}); a fit handles x from {X_MIN:g} to {X_MAX:g}; drop the extreme rows"
        )
    # a power of ten that brings the middle of the data (in log x) to about 1
    power = int(np.floor(np.mean(np.log10(x))))
    raise DataError(
        f"x[{i}] = {v:g} is outside the range a fit handles, {X_MIN:g} to {X_MAX:g} (the law "
        f"is reported in x's units and its summaries leave float64 beyond that); rescale x, "
        f"e.g. divide every x by 1e{power} (give x in units of 1e{power})"
    )



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
    x_label, y_label : str
        What x and y measure (``"training set size"``, ``"test cross-entropy"``), for axis
        labels; default ``"x"`` and ``"y"``.
    """

    x: np.ndarray
    y: np.ndarray
    seeds: np.ndarray
    std: np.ndarray
    held_out: np.ndarray
    name: str = ""
    x_label: str = "x"
    y_label: str = "y"

    def __post_init__(self) -> None:
        n = len(self.x)
        for field in ("y", "seeds", "std", "held_out"):
            if len(getattr(self, field)) != n:
                raise DataError(f"Curve.{field} has {len(getattr(self, field))} values, x has {n}")
        for field in ("name", "x_label", "y_label"):
            if not isinstance(getattr(self, field), str):
                raise DataError(f"Curve.{field} = {short_repr(getattr(self, field))}: expected "
                                f"a string")

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
        x_label: str = "x",
        y_label: str = "y",
    ) -> Curve:
        """Validate and aggregate arrays into a Curve.

        Parameters
        ----------
        x, y : array_like
            The scaled quantity (from 1e-50 to 1e50, see ``X_MIN``, ``X_MAX``) and the metric,
            one value per row.
        seeds : int or array_like, optional
            Number of runs averaged into each row (whole numbers >= 1); default 1 per row; one
            number applies to every row. Several rows at the same x are combined into one point
            whose mean weighs each row by its seeds and whose count is their sum.
        std : float or array_like, optional
            Per-run standard deviation of y at each row (>= 0; NaN = unknown); one number applies
            to every row. When rows at the same x are single runs, their spread is computed from
            them instead.
        held_out : array_like of bool, optional
            True for rows kept out of the fit. Rows at the same x must agree.
        name : str
            A label for reports.
        x_label, y_label : str
            What x and y measure, for axis labels.

        Returns
        -------
        Curve

        Raises
        ------
        DataError
            Mismatched lengths, non-numeric, NaN or infinite values, x outside 1e-50 ... 1e50
            (x <= 0 included), seeds < 1 or not whole, negative std, or no rows at all.
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
        _check_x_range(xa)
        if seeds is None:
            sa = np.ones_like(xa)
        else:
            sa = _as_float_array(_broadcast(seeds, len(xa)), "seeds")
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
            da = _as_float_array(_broadcast(std, len(xa)), "std")
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
                        raise DataError(f"held_out[{i}] = {short_repr(v)}: expected True/False "
                                        f"(or 1/0), True for rows kept out of the fit")
            ha = ha.astype(bool)
        return cls._aggregate(xa, ya, sa, da, ha, name, x_label, y_label)

    @classmethod
    def _aggregate(cls, x, y, seeds, std, held_out, name, x_label, y_label) -> Curve:
        order = np.argsort(x, kind="stable")
        x, y, seeds, std, held_out = (v[order] for v in (x, y, seeds, std, held_out))
        ux, start = np.unique(x, return_index=True)
        if len(ux) == len(x):
            return cls(x, y, seeds, std, held_out, name, x_label, y_label)
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
        return cls(np.array(mx), np.array(my), np.array(ms), np.array(md),
                   np.array(mh, dtype=bool), name, x_label, y_label)

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
        check_columns(df, {"x": x, "y": y, "seeds": seeds, "std": std, "split": split})
        ho = None if split is None else parse_split(df[split], split)
        return cls.from_arrays(
            df[x].to_numpy(),
            df[y].to_numpy(),
            seeds=None if seeds is None else df[seeds].to_numpy(),
            std=None if std is None else df[std].to_numpy(),
            held_out=ho,
            name=name,
            x_label=str(x),
            y_label=str(y),
        )

    @classmethod
    def group(
        cls,
        df: pd.DataFrame,
        by: str | Sequence[str],
        *,
        x: str = "x",
        y: str = "y",
        seeds: str | None = None,
        std: str | None = None,
        split: str | None = None,
    ) -> dict[str, Curve]:
        """Split a long table into curves, one per distinct value of the ``by`` columns.

        What the command line's ``fit-many --group`` does; the result goes straight into
        :func:`~bnsl_bayes.fitting.fit_many`.

        Parameters
        ----------
        df : pandas.DataFrame
            The long table: one row per point or per run, with the columns that tell the curves
            apart.
        by : str or sequence of str
            The column(s) that identify a curve (e.g. ``["task", "model"]``).
        x, y, seeds, std, split : str, optional
            Columns as in :meth:`from_dataframe`, the same for every curve.

        Returns
        -------
        dict of str to Curve
            Keyed by the values of the ``by`` columns joined with ``/`` (``"add/small"``), in
            order of first appearance; each curve is named by its key.

        Raises
        ------
        DataError
            Not a DataFrame, ``by`` not column names, a missing column (the message lists the
            table's columns), two groups with the same key, or bad data in a curve (named by
            its key).
        """
        if isinstance(by, str):
            by = [by]
        if (not isinstance(by, Sequence) or not by
                or not all(isinstance(b, str) for b in by)):
            raise DataError(f"by = {short_repr(by)}: expected the name(s) of the column(s) that "
                            f"tell the curves apart, e.g. by=['task', 'model']")
        by = list(by)
        check_columns(df, {"by": by, "x": x, "y": y, "seeds": seeds, "std": std,
                            "split": split})
        curves: dict[str, Curve] = {}
        for key, part in df.groupby(by, sort=False, dropna=False):
            label = "/".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
            if label in curves:
                raise DataError(f"two groups of {by} share the key {label!r} (values that "
                                f"contain '/'); rename them so that each curve has its own key")
            try:
                curves[label] = cls.from_dataframe(pd.DataFrame(part), x=x, y=y, seeds=seeds,
                                                   std=std, split=split, name=label)
            except DataError as err:
                raise DataError(f"curve {label!r}: {err}") from None
        return curves

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

    def complement(self, bound: float = 1.0) -> Curve:
        """The curve of ``bound - y``: the error of a metric that rises to a ceiling.

        Fit the complement (``1 - accuracy``, ``100 - percent correct``) in the log noise space:
        its bands stay above 0, so mapped back (``y = bound - value``, lower and upper ends
        swapped) they never pass the bound, which a fit of the metric itself cannot promise.

        Parameters
        ----------
        bound : float
            The metric's ceiling, above every y (default 1.0, for accuracy as a fraction).

        Returns
        -------
        Curve
            Same x, seeds, held-out points and name; y is ``bound - y``, std unchanged,
            ``y_label`` is ``"{bound} - {y_label}"``.

        Raises
        ------
        DataError
            ``bound`` is not a finite number, or a y is at or above it.
        """
        if (isinstance(bound, bool) or not isinstance(bound, int | float | np.number)
                or not math.isfinite(bound)):
            raise DataError(f"bound = {short_repr(bound)}: expected a finite number, the "
                            f"metric's ceiling (e.g. 1.0 for accuracy, 100 for percent)")
        bound = float(bound)
        over = self.y >= bound
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise DataError(
                f"y = {self.y[i]:g} at x = {self.x[i]:g} is not below bound = {bound:g}: the "
                f"complement bound - y must be > 0 at every point; give the metric's true "
                f"ceiling as bound (e.g. 100 for percent), above every y"
            )
        return replace(self, y=bound - self.y, y_label=f"{bound:g} - {self.y_label}")

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
