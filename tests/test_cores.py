"""One JAX CPU device per core (``bnsl_bayes.sampling.devices``) and the chains spread over them."""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import pytest

import bnsl_bayes as bb
from bnsl_bayes.sampling.devices import available_cores, use_cpu_cores
from bnsl_bayes.sampling.nuts import chain_shards


def _devices_after_import(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = "import bnsl_bayes, jax; print(len(jax.devices('cpu')))"
    base = {k: v for k, v in os.environ.items()
            if k not in ("BNSL_BAYES_CPU_DEVICES", "XLA_FLAGS")}
    return subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True,
                          text=True, env={**base, **env}, timeout=120)


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"])
def test_bad_device_count_is_named(n):
    with pytest.raises(ValueError, match="whole number >= 1"):
        use_cpu_cores(n)


def test_too_late_changes_nothing():
    jax.numpy.ones(1).block_until_ready()  # the backend runs: the count can no longer change
    before = len(jax.devices("cpu"))
    assert use_cpu_cores(before + 1) is False
    assert len(jax.devices("cpu")) == before


def test_import_gives_one_device_per_core():
    res = _devices_after_import({})
    assert res.returncode == 0, res.stderr
    assert int(res.stdout) == available_cores()


@pytest.mark.parametrize("env, expected", [
    ({"BNSL_BAYES_CPU_DEVICES": "1"}, 1),
    ({"BNSL_BAYES_CPU_DEVICES": "3"}, 3),
    ({"XLA_FLAGS": "--xla_force_host_platform_device_count=5"}, 5),  # the user's choice wins
])
def test_device_count_can_be_chosen(env, expected):
    res = _devices_after_import(env)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout) == expected


def test_bad_environment_value_warns_and_imports():
    res = _devices_after_import({"BNSL_BAYES_CPU_DEVICES": "many"})
    assert res.returncode == 0, res.stderr
    assert "BNSL_BAYES_CPU_DEVICES = 'many'" in res.stderr
    assert int(res.stdout) == 1  # JAX's own default


def test_chains_are_split_evenly_over_the_devices():
    n = len(jax.devices("cpu"))
    for chains in (1, 2, 3, 4, 6, 8):
        k = chain_shards(chains)
        assert chains % k == 0 and 1 <= k <= n
        assert all(chains % d for d in range(k + 1, min(n, chains) + 1))


def test_sharded_chains_are_reproducible():
    """Chains spread over devices give bit-identical draws run after run, all of them kept."""
    x = [10, 20, 40, 80, 160, 320, 640, 1280]
    y = [2.0 * v**-0.3 for v in x]
    config = bb.SamplerConfig(chains=2, warmup=150, samples=150, method="nuts")
    kw = {"breaks": 0, "sampler": config, "seed": 3, "check": False}
    a = bb.fit(x, y, **kw)
    b = bb.fit(x, y, **kw)
    assert (a.data.posterior["c0"].values == b.data.posterior["c0"].values).all()
    assert a.data.posterior.sizes["chain"] == 2
