"""bnsl-bayes: Bayesian fitting and extrapolation of Broken Neural Scaling Laws.

The public API::

    import bnsl_bayes as bb
    curve = bb.datasets.load("four_digit_addition")
    result = bb.fit(curve, breaks=1, seed=0)
    result.predict([800, 1000, 2000])      # median, credible and predictive bands
    result.data                            # ArviZ DataTree

``import bnsl_bayes`` itself is light: each public name imports its module on first use
(PEP 562), so that ``bnsl-bayes --help`` and the command's usage errors answer without loading
JAX, NumPyro and ArviZ (seconds).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - what type checkers and IDEs see; imported lazily below
    from . import datasets
    from .calibrate import calibrate_drift, calibrate_drifts
    from .compare import compare
    from .data import Curve, DataError
    from .drift import Drift
    from .fileformat import load
    from .fitting import fit, fit_many
    from .law import bnsl
    from .plot import plot_fits
    from .result import Fit, MisfitWarning, SamplingWarning
    from .sampling.devices import use_compile_cache, use_cpu_cores
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
    "plot_fits",
    "seeds_study",
    "use_compile_cache",
    "use_cpu_cores",
]

#: Public name -> (module that defines it, its attribute there; None: the module itself).
_EXPORTS: dict[str, tuple[str, str | None]] = {
    "Curve": (".data", "Curve"),
    "DataError": (".data", "DataError"),
    "Drift": (".drift", "Drift"),
    "Fit": (".result", "Fit"),
    "ModelSpec": (".spec", "ModelSpec"),
    "MisfitWarning": (".result", "MisfitWarning"),
    "SamplerConfig": (".sampling.nuts", "SamplerConfig"),
    "SamplingWarning": (".result", "SamplingWarning"),
    "SpecError": (".spec", "SpecError"),
    "available_models": (".spec", "available_models"),
    "bnsl": (".law", "bnsl"),
    "calibrate_drift": (".calibrate", "calibrate_drift"),
    "calibrate_drifts": (".calibrate", "calibrate_drifts"),
    "compare": (".compare", "compare"),
    "datasets": (".datasets", None),
    "fit": (".fitting", "fit"),
    "fit_many": (".fitting", "fit_many"),
    "load": (".fileformat", "load"),
    "load_spec": (".spec", "load_spec"),
    "plot_fits": (".plot", "plot_fits"),
    "seeds_study": (".seeds", "seeds_study"),
    "use_compile_cache": (".sampling.devices", "use_compile_cache"),
    "use_cpu_cores": (".sampling.devices", "use_cpu_cores"),
}


# Two import orders must hold whoever imports first (this package, the user, a test), now that
# importing the package no longer imports them itself:
#
# 1. bnsl_bayes.sampling.devices runs right after JAX is imported, before anything can start
#    JAX's CPU backend: it asks JAX for one CPU device per core, so the chains of a fit run side
#    by side (BNSL_BAYES_CPU_DEVICES=1 turns it off), and the setting is refused once the
#    backend runs.
# 2. NumPyro before ArviZ: importing arviz before numpyro.distributions leaves the attribute
#    numpyro.distributions.distribution unset (numpyro 0.22, arviz 1.3), which numpyro itself
#    uses. The package's own models are safe either way (priors.py binds the attribute); the
#    order keeps a user's own NumPyro code working after ``import bnsl_bayes, arviz``.
#
# A finder placed first on sys.meta_path sees the first import of each and keeps the order.
class _RunAfter(importlib.abc.Loader):
    """JAX's own loader, then the import of :mod:`.sampling.devices` (order 1)."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        # JAX keeps its own loader (resource readers and reloads go to it)
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        importlib.import_module(".sampling.devices", __name__)


class _ImportOrder(importlib.abc.MetaPathFinder):
    """Keeps the two import orders above; leaves sys.meta_path once both are settled."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        spec = None
        if fullname == "arviz" and "numpyro" not in sys.modules:
            importlib.import_module("numpyro")
        elif fullname == "jax":
            for finder in sys.meta_path:  # the spec the others would give, JAX's own loader
                if finder is not self and hasattr(finder, "find_spec"):
                    spec = finder.find_spec(fullname, path, target)
                    if spec is not None:
                        break
            if spec is not None and spec.loader is not None:
                spec.loader = _RunAfter(spec.loader)
        if _settled():
            try:
                sys.meta_path.remove(self)
            except ValueError:  # another thread's import removed it first
                pass
        return spec


def _settled() -> bool:
    """True once JAX is imported and NumPyro or ArviZ is: nothing left to order."""
    return "jax" in sys.modules and ("numpyro" in sys.modules or "arviz" in sys.modules)


if "jax" in sys.modules:  # already imported by the caller: set the devices up now (cheap)
    importlib.import_module(".sampling.devices", __name__)
if not _settled() and not any(type(f).__name__ == "_ImportOrder" for f in sys.meta_path):
    sys.meta_path.insert(0, _ImportOrder())


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562), or a submodule (``bb.seeds``)."""
    if name in _EXPORTS:
        module_name, attr = _EXPORTS[name]
        module = importlib.import_module(module_name, __name__)
        value = module if attr is None else getattr(module, attr)
    elif not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}"):
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """This package's module type: a submodule import never hides a public name."""

    def __setattr__(self, name: str, value: Any) -> None:
        # Importing the module bnsl_bayes.compare binds it to the package's attribute
        # 'compare', which is the function compare (as it was when the package imported
        # everything itself): keep the function.
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name, ("", None))[1]:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

try:
    from importlib.metadata import version as _version

    __version__ = _version("bnsl-bayes")
except Exception:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"
