"""Spreading batches of fits over a Ray cluster (optional: ``pip install 'bnsl-bayes[ray]'``).

Each Ray task runs :func:`~bnsl_bayes.sampling.nuts.run_nuts_batch` on one batch of standardized
curves and returns plain arrays; the caller builds the Fits. A curve's draws depend only on its
data, its seed and the sampler settings (never on the batch it ran in), so a fit spread over a
cluster gives the same numbers as the local run with the same seeds.
"""

from __future__ import annotations

import os
from typing import Any

from ..data import NoiseSpace
from ..spec import ModelSpec
from ..standardize import ModelData
from .nuts import SamplerConfig, default_batch, padded_length, run_nuts_batch

__all__ = ["check_ray_address", "connect", "run_batches_on_ray"]

_RAY_HINT = "install it with: pip install 'bnsl-bayes[ray]'"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError(f"ray_address was given but Ray is not installed; {_RAY_HINT}") from None
    return ray


def check_ray_address(address: object) -> None:
    """Raise before any work if ``address`` is not a usable Ray address or Ray is missing."""
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"ray_address = {address!r}: expected 'local' or a cluster address "
                         f"such as 'auto' or 'ray://head:10001'")
    _import_ray()


def connect(address: str) -> Any:
    """Connect to the Ray cluster at ``address`` (``"local"``: start or reuse one here)."""
    check_ray_address(address)
    ray = _import_ray()
    if not ray.is_initialized():
        env = {k: v for k, v in os.environ.items() if k.startswith(("JAX_", "XLA_"))}
        ray.init(address=None if address == "local" else address,
                 runtime_env={"env_vars": env} if env else None,
                 include_dashboard=False, log_to_driver=False)
    return ray


def _run_batch(spec: ModelSpec, space: NoiseSpace, data: list[ModelData],
               config: SamplerConfig, seeds: list[int], batch: int):
    return run_nuts_batch(spec, space, data, config, seeds, batch=batch)


def run_batches_on_ray(
    address: str,
    spec: ModelSpec,
    space: NoiseSpace,
    data: list[ModelData],
    config: SamplerConfig,
    seeds: list[int],
    batch: int | None,
) -> list[tuple[dict, dict, int]]:
    """:func:`~bnsl_bayes.sampling.nuts.run_nuts_batch`, one Ray task per batch of curves.

    Parameters
    ----------
    address : str
        ``"local"`` or the address of a running Ray cluster.
    spec, space, data, config, seeds
        As :func:`~bnsl_bayes.sampling.nuts.run_nuts_batch`.
    batch : int, optional
        Curves per compiled call inside a task (default: :func:`~bnsl_bayes.sampling.nuts.
        default_batch`); each task takes the curves split evenly over the cluster's CPUs.

    Returns
    -------
    list
        As :func:`~bnsl_bayes.sampling.nuts.run_nuts_batch`, in input order.
    """
    ray = connect(address)
    if not data:
        return []
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    per_task = -(-len(data) // cpus)  # the curves split evenly over the cluster's CPUs
    if batch is None:
        batch = default_batch(per_task)
    # Every task pads to the length of the longest curve of the whole call, so all tasks run
    # the same compiled program as the local call would.
    length = padded_length(max(d.n_points for d in data))
    data = [d.padded(length) for d in data]
    per_task = max(per_task, batch)
    remote = ray.remote(num_cpus=1)(_run_batch)
    refs = [
        remote.remote(spec, space, data[i:i + per_task], config, seeds[i:i + per_task], batch)
        for i in range(0, len(data), per_task)
    ]
    return [item for chunk in ray.get(refs) for item in chunk]
