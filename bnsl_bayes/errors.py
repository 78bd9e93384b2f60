"""The error every check on user data raises."""

from __future__ import annotations

__all__ = ["DataError", "short_repr"]


class DataError(ValueError):
    """User data that cannot be fitted as given."""


def short_repr(v: object, limit: int = 40) -> str:
    """``repr(v)``, cut to ``limit`` characters for an error message."""
    text = repr(v)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."
