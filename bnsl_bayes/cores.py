"""One JAX CPU device per core, so the chains of a fit run side by side.

JAX shows a CPU as a single device, and one NUTS chain (a sequential loop) keeps one core busy.
With one virtual device per core (``jax_num_cpu_devices``, NumPyro's
``set_host_device_count``), :mod:`.inference` spreads the chains of each curve over the
devices (``jax.shard_map``): on 2 cores a 4-chain fit runs two chains at a time.

The setting only takes effect before JAX starts its CPU backend, so importing this module (the
first thing ``import bnsl_bayes`` does) calls :func:`use_cpu_cores`. It changes nothing when
JAX has already started, when the user chose a device count (``jax_num_cpu_devices``, or
``--xla_force_host_platform_device_count`` in ``XLA_FLAGS``), or when
``BNSL_BAYES_CPU_DEVICES`` says otherwise (``1`` turns it off).
"""

from __future__ import annotations

import os
import warnings

import jax

__all__ = ["available_cores", "use_cpu_cores"]

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
