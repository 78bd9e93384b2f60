"""Keep compiled samplers on disk between processes (JAX's persistent compilation cache).

A fit compiles its sampler once per shape: tens of seconds of XLA compilation, most of the
time of a first fit (``benchmarks/README.md``, "Where the cold time goes"). With the cache on,
a later process (a new notebook kernel, the next ``bnsl-bayes`` command) loads the compiled
program instead; tracing still takes its seconds. The ``bnsl-bayes`` command turns it on
itself; from Python call :func:`use_compile_cache` once, before the first fit. It changes
speed only, never results.
"""

from __future__ import annotations

import os
import warnings
from os import PathLike
from pathlib import Path

import jax

__all__ = ["default_cache_folder", "use_compile_cache"]


def default_cache_folder() -> Path:
    """``$XDG_CACHE_HOME/bnsl-bayes/jax``, with ``XDG_CACHE_HOME`` defaulting to ``~/.cache``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bnsl-bayes" / "jax"


def use_compile_cache(folder: str | PathLike | None = None, *, quiet: bool = False
                      ) -> Path | None:
    """Turn on JAX's persistent compilation cache for this process.

    Parameters
    ----------
    folder : str or path, optional
        Where compiled programs are kept (created if missing). Default:
        :func:`default_cache_folder`.
    quiet : bool
        Do not warn when the folder cannot be created (the ``bnsl-bayes`` command's choice).

    Returns
    -------
    pathlib.Path or None
        The cache folder, or None when it could not be created: then nothing changes and fits
        compile as usual (with a :class:`UserWarning` naming the folder unless ``quiet``).

    Notes
    -----
    Programs that take at least one second to compile are stored; the samplers take far more.
    The setting is JAX's (``jax_compilation_cache_dir``) and lasts for the process.
    """
    path = Path(folder).expanduser() if folder is not None else default_cache_folder()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if not quiet:
            warnings.warn(f"compile cache not used: cannot create {str(path)!r} ({exc}); give "
                          f"use_compile_cache a writable folder", UserWarning, stacklevel=2)
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    return path
