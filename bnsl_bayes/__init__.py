"""bnsl-bayes: Bayesian fitting and extrapolation of Broken Neural Scaling Laws.

The public API::

    import bnsl_bayes as bb
    curve = bb.datasets.load("four_digit_addition")
    result = bb.fit(curve, breaks=1, seed=0)
    result.predict([800, 1000, 2000])      # median, credible and predictive bands
    result.data                            # ArviZ DataTree
"""

# First, before anything starts JAX's CPU backend: importing .sampling.devices asks JAX for one
# device per core, so the chains of a fit run side by side (BNSL_BAYES_CPU_DEVICES=1 turns it off).
from .sampling.devices import use_cpu_cores  # noqa: I001

# NumPyro next: importing arviz before numpyro.distributions leaves the attribute
# numpyro.distributions.distribution unset (numpyro 0.22, arviz 1.3), which numpyro itself uses.
import numpyro  # noqa: F401, I001

from . import datasets
from .compare import compare
from .sampling.devices import use_compile_cache
from .data import Curve, DataError
from .calibrate import calibrate_drift, calibrate_drifts
from .drift import Drift
from .fitting import fit, fit_many
from .law import bnsl
from .fileformat import load
from .result import Fit, MisfitWarning, SamplingWarning
from .sampling.nuts import SamplerConfig
from .seeds import seeds_study
from .spec import ModelSpec, SpecError, available_models, load_spec

__all__ = [
    "Curve",
    "DataError",
    "Drift",
    "Fit",
    "ModelSpec",
    "MisfitWarning",
    "SamplerConfig",
    "SamplingWarning",
    "SpecError",
    "available_models",
    "bnsl",
    "calibrate_drift",
    "calibrate_drifts",
    "compare",
    "datasets",
    "fit",
    "fit_many",
    "load",
    "load_spec",
    "seeds_study",
    "use_compile_cache",
    "use_cpu_cores",
]

try:
    from importlib.metadata import version as _version

    __version__ = _version("bnsl-bayes")
except Exception:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"
