"""``fit_many(..., ray_address=...)`` on a local Ray instance: the same draws as the local run."""

from __future__ import annotations

import numpy as np
import pytest
from budgets import FIT as FAST

import bnsl_bayes as bb

ray = pytest.importorskip("ray")

# Ray starts its processes with fork; Python warns (as an unraisable RuntimeWarning) that JAX's
# threads live in this process. The workers are fresh interpreters that import JAX themselves.
pytestmark = [
    pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def _curves() -> list[bb.Curve]:
    base = bb.datasets.load("four_digit_addition")
    m = base.fit_mask
    x, y = base.x[m], base.y[m]
    rng = np.random.default_rng(21)
    return [bb.Curve.from_arrays(x[:k], y[:k] * np.exp(0.004 * rng.standard_normal(k)),
                                 name=f"c{k}") for k in (14, 13, 12)]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_ray_gives_the_local_draws(local_ray):
    curves = _curves()
    local = bb.fit_many(curves, seed=3, **FAST)
    spread = bb.fit_many(curves, seed=3, ray_address="local", **FAST)  # 2 tasks of 2 curves
    assert [f.seed for f in spread] == [3, 4, 5]
    for a, b in zip(local, spread, strict=True):
        assert a.data.attrs["curve_name"] == b.data.attrs["curve_name"]
        for k in ("a", "b", "c0", "c", "d", "f", "sigma"):
            np.testing.assert_array_equal(a.data.posterior[k].values, b.data.posterior[k].values)


@pytest.mark.parametrize("address", ["", 3, None])
def test_bad_ray_address_is_named(address, monkeypatch):
    if address is None:  # Ray missing: the error says how to install it
        import builtins

        real = builtins.__import__

        def no_ray(name, *args, **kw):
            if name == "ray":
                raise ImportError("no ray")
            return real(name, *args, **kw)

        monkeypatch.setattr(builtins, "__import__", no_ray)
        with pytest.raises(ImportError, match=r"bnsl-bayes\[ray\]"):
            bb.fit_many(_curves(), ray_address="local")
    else:
        with pytest.raises(ValueError, match="ray_address"):
            bb.fit_many(_curves(), ray_address=address)
