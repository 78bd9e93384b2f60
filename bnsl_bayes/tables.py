"""Tables of runs: reading a CSV with clear errors, checking the columns a call names, and the
column that says which rows are fitted."""

from __future__ import annotations

import csv
import io
import warnings
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, short_repr

__all__ = ["check_columns", "parse_split", "read_table"]


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
            raise DataError(f"{label!r} has one column {short_repr(df.columns[0])}: the "
                            f"values seem separated by {sep!r}; save the table with commas")
    return df


def check_columns(df: pd.DataFrame, wanted: dict[str, object]) -> None:
    """A DataFrame with distinct column names that holds every named column (None = unused);
    ``wanted`` maps a role to one column name (to a list of them for ``by``)."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if df.columns.duplicated().any():
        dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise DataError(f"duplicated column name(s) {dup}; give every column its own name")
    cols = ", ".join(map(str, df.columns)) or "(none)"
    for role, given in wanted.items():
        for col in given if role == "by" else [given]:
            if col is None:
                continue
            if not isinstance(col, str | int | np.integer):
                raise DataError(
                    f"{role} = {short_repr(col)}: with a DataFrame, {role} names a column, "
                    f"not values; the table has columns: {cols}"
                )
            if col not in df.columns:
                what, option = ("to group by", "group") if role == "by" else (f"for {role}", role)
                raise DataError(
                    f"no column {col!r} {what}; the table has columns: {cols}. "
                    f"Name the right one (CLI: --{option} COL)"
                )


_FIT_WORDS = {"fit", "train", "training", "1", "true", "yes"}
_HELD_WORDS = {"held_out", "held-out", "heldout", "test", "holdout", "0", "false", "no"}


def parse_split(col: pd.Series, name: str) -> np.ndarray:
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
