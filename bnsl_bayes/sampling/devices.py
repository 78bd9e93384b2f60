"""Where the samplers run: one JAX CPU device per core, and the compile cache on disk.

One JAX CPU device per core
---------------------------
One JAX CPU device per core, so the chains of a fit run side by side.

JAX shows a CPU as a single device, and one NUTS chain (a sequential loop) keeps one core busy.
With one virtual device per core (``jax_num_cpu_devices``, NumPyro's
``set_host_device_count``), :mod:`.nuts` spreads the chains of each curve over the
devices (``jax.shard_map``): on 2 cores a 4-chain fit runs two chains at a time.

The setting only takes effect before JAX starts its CPU backend, so importing this module
(which ``import bnsl_bayes`` arranges right after JAX is imported) calls :func:`use_cpu_cores`.
It changes nothing when JAX has already started, when the user chose a device count
(``jax_num_cpu_devices``, or ``--xla_force_host_platform_device_count`` in ``XLA_FLAGS``), or
when ``BNSL_BAYES_CPU_DEVICES`` says otherwise (``1`` turns it off).

The compile cache
-----------------
Keep compiled samplers on disk between processes (JAX's persistent compilation cache).

A fit compiles its sampler once per shape: tens of seconds of XLA compilation, most of the
time of a first fit (docs/performance.md). With the cache on,
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

__all__ = ["available_cores", "default_cache_folder", "use_compile_cache", "use_cpu_cores"]

ENV = "BNSL_BAYES_CPU_DEVICES"


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - platforms without affinity
        return os.cpu_count() or 1


def use_cpu_cores(n: int | None = None) -> bool:
    """Ask JAX for ``n`` CPU devices (default: ``$BNSL_BAYES_CPU_DEVICES``, else one per core).

    Parameters
    ----------
    n : int, optional
        Number of CPU devices; ``None`` reads ``BNSL_BAYES_CPU_DEVICES`` or counts the cores.

    Returns
    -------
    bool
        True when the setting was applied; False when JAX had already started its backend or
        the user had chosen a device count (then nothing is changed).

    Raises
    ------
    ValueError
        If ``n`` or ``BNSL_BAYES_CPU_DEVICES`` is not a whole number >= 1.
    """
    if n is None:
        text = os.environ.get(ENV, "").strip()
        if text:
            try:
                n = int(text)
            except ValueError:
                n = 0
            if n < 1:
                raise ValueError(f"{ENV} = {text!r}: expected a whole number >= 1 "
                                 f"(1 keeps JAX's single CPU device)")
        else:
            n = available_cores()
    elif isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n = {n!r}: expected a whole number >= 1")
    if jax.config.jax_num_cpu_devices != -1 or (
            "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", "")):
        return False
    try:
        jax.config.update("jax_num_cpu_devices", int(n))
    except RuntimeError:  # the backend is already running: keep what it has
        return False
    return True


try:
    APPLIED = use_cpu_cores()
except ValueError as err:  # a bad BNSL_BAYES_CPU_DEVICES must not break the import
    warnings.warn(f"{err}; keeping JAX's CPU devices as they are", stacklevel=2)
    APPLIED = False



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
