"""Model specifications: the form, the number of breaks and the priors, read from TOML.

The bundled specifications live in the repository's ``models/`` folder and ship inside the wheel
as ``bnsl_bayes.models``. A specification is selected by name (``"bnsl-1"``) or by the path of a
user's own TOML file with the same layout. Every problem in a file is reported as a
:class:`SpecError` naming the file, the key and the fix, before anything is compiled.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpyro.distributions as dist

__all__ = ["ModelSpec", "Prior", "SpecError", "available_models", "load_spec"]


class SpecError(ValueError):
    """A model specification is unknown or malformed."""


# name -> (numpyro class, required parameters, support kind)
_DISTRIBUTIONS: dict[str, tuple[type, tuple[str, ...], str]] = {
    "Normal": (dist.Normal, ("loc", "scale"), "real"),
    "StudentT": (dist.StudentT, ("df", "loc", "scale"), "real"),
    "Cauchy": (dist.Cauchy, ("loc", "scale"), "real"),
    "Logistic": (dist.Logistic, ("loc", "scale"), "real"),
    "HalfNormal": (dist.HalfNormal, ("scale",), "positive"),
    "HalfCauchy": (dist.HalfCauchy, ("scale",), "positive"),
    "LogNormal": (dist.LogNormal, ("loc", "scale"), "positive"),
    "Exponential": (dist.Exponential, ("rate",), "positive"),
    "Gamma": (dist.Gamma, ("concentration", "rate"), "positive"),
    "InverseGamma": (dist.InverseGamma, ("concentration", "rate"), "positive"),
    "Beta": (dist.Beta, ("concentration1", "concentration0"), "unit"),
}

# prior name -> (support it needs, used for which noise space, what it is)
_SITES: dict[str, tuple[str, str, str]] = {
    "level": ("real", "both", "log (log space) or value (linear space) of the mean curve at the "
              "last fit point, relative to the observed last point"),
    "asymptote_fraction": ("unit", "log", "a divided by the mean curve at the last fit point"),
    "log_height": ("real", "linear", "log of (mean curve at the last fit point - a), in spreads"),
    "slope0": ("real", "both", "c0 times the log-x width of the fit range"),
    "slope_change": ("real", "breaks", "c_i times the log-x width of the fit range"),
    "break_location": ("real", "breaks", "log d_i on the standardized axis (fit range = [0, 1])"),
    "log_sharpness": ("real", "breaks", "log of f_i divided by the log-x width of the fit range"),
    "noise_variance": ("positive", "both", "per-seed noise variance (log space: of log y; "
                       "linear: in spreads squared); InverseGamma, integrated out analytically"),
}

_FORMS = ("bnsl",)


@dataclass(frozen=True)
class Prior:
    """A univariate prior on the standardized scale.

    Attributes
    ----------
    dist : str
        Name of the distribution (a key of ``Prior.supported()``).
    params : tuple of (str, float)
        Its parameters, by NumPyro's names.
    """

    dist: str
    params: tuple[tuple[str, float], ...]

    @staticmethod
    def supported() -> dict[str, tuple[str, ...]]:
        """Distribution names and the parameters each takes."""
        return {name: req for name, (_, req, _) in _DISTRIBUTIONS.items()}

    @property
    def support(self) -> str:
        """``"real"``, ``"positive"`` or ``"unit"``."""
        return _DISTRIBUTIONS[self.dist][2]

    def build(self) -> dist.Distribution:
        """The NumPyro distribution."""
        cls = _DISTRIBUTIONS[self.dist][0]
        return cls(**dict(self.params))

    def to_toml(self) -> str:
        """Inline-table TOML text of this prior."""
        inner = ", ".join(f"{k} = {v!r}" for k, v in self.params)
        return f'{{ dist = "{self.dist}", {inner} }}'


@dataclass(frozen=True)
class ModelSpec:
    """A model specification: the form, its number of breaks and its priors.

    Attributes
    ----------
    name : str
        Name of the specification (``"bnsl-1"``).
    form : str
        Functional form; ``"bnsl"``.
    breaks : int
        Number of breaks n (0 is a power law plus an asymptote).
    priors : tuple of (str, Prior)
        Priors on the standardized scale, by site name.
    description : str
        One line saying what the specification is for.
    """

    name: str
    form: str
    breaks: int
    priors: tuple[tuple[str, Prior], ...]
    description: str = ""

    def prior(self, site: str) -> Prior:
        """The prior of ``site``."""
        return dict(self.priors)[site]

    @property
    def n_law_params(self) -> int:
        """Number of parameters of the law: a, b, c0 and (c_i, d_i, f_i) per break."""
        return 3 + 3 * self.breaks

    def to_toml(self) -> str:
        """TOML text that :func:`load_spec` reads back into an equal specification."""
        lines = [
            f"name = {_toml_string(self.name)}",
            f"form = {_toml_string(self.form)}",
            f"breaks = {self.breaks}",
            f"description = {_toml_string(self.description)}",
            "",
            "[priors]",
        ]
        lines += [f"{site} = {p.to_toml()}" for site, p in self.priors]
        return "\n".join(lines) + "\n"


def _toml_string(text: str) -> str:
    """A TOML basic string: backslash and quote escaped, control characters as \\uXXXX."""
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _models_dir() -> Path:
    try:
        path = Path(str(resources.files("bnsl_bayes.models")))
        if path.is_dir() and any(path.glob("*.toml")):
            return path
    except ModuleNotFoundError:  # pragma: no cover - running from a source tree without install
        pass
    return Path(__file__).resolve().parent.parent / "models"


def available_models() -> list[str]:
    """Names of the bundled model specifications, sorted."""
    return sorted(p.stem for p in _models_dir().glob("*.toml"))


def load_spec(model: str | Path) -> ModelSpec:
    """Read a model specification by bundled name or from a TOML file.

    Parameters
    ----------
    model : str or Path
        A bundled name (see :func:`available_models`) or the path of a TOML file.

    Returns
    -------
    ModelSpec

    Raises
    ------
    SpecError
        The name is unknown, the file cannot be read, or its content is malformed.
    """
    text_model = str(model)
    bundled = _models_dir() / f"{text_model}.toml"
    if bundled.is_file():
        path = bundled
    else:
        path = Path(text_model)
        if not path.suffix == ".toml" or not path.is_file():
            raise SpecError(
                f"unknown model {text_model!r}: expected one of {', '.join(available_models())} "
                "or the path of an existing .toml file; pick a bundled name or fix the path"
            )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read model file {str(path)!r}: {exc}") from None
    return parse_spec(text, source=str(path))


def parse_spec(text: str, *, source: str = "<string>") -> ModelSpec:
    """Parse the TOML text of a model specification (see :func:`load_spec`)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(
            f"model file {source!r} is not valid TOML ({exc}); fix its syntax"
        ) from None

    def fail(msg: str) -> SpecError:
        return SpecError(f"model file {source!r}: {msg}")

    allowed = {"name", "form", "breaks", "description", "priors"}
    extra = sorted(set(raw) - allowed)
    if extra:
        raise fail(f"unknown key(s) {extra}; allowed top-level keys are {sorted(allowed)}")
    for key in ("name", "form", "breaks", "priors"):
        if key not in raw:
            raise fail(f"missing key {key!r}; see the bundled models/bnsl-1.toml for the layout")
    name, form, breaks = raw["name"], raw["form"], raw["breaks"]
    if not isinstance(name, str) or not name:
        raise fail(f"'name' must be a non-empty string, got {name!r}")
    if form not in _FORMS:
        raise fail(f"'form' must be one of {list(_FORMS)}, got {form!r}")
    if not isinstance(breaks, int) or isinstance(breaks, bool) or not 0 <= breaks <= 5:
        raise fail(f"'breaks' must be a whole number from 0 to 5, got {breaks!r}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise fail(f"'description' must be a string, got {description!r}")
    table = raw["priors"]
    if not isinstance(table, dict):
        raise fail("'priors' must be a table of site = { dist = ..., ... }")
    needed = [s for s, (_, use, _) in _SITES.items() if use != "breaks" or breaks > 0]
    missing = [s for s in needed if s not in table]
    if missing:
        raise fail(f"missing prior(s) {missing}; every site needs one: {needed}")
    unknown = sorted(set(table) - set(_SITES))
    if unknown:
        raise fail(f"unknown prior site(s) {unknown}; known sites are {sorted(_SITES)}")
    priors = []
    for site in needed:
        priors.append((site, _parse_prior(table[site], site, fail)))
    return ModelSpec(
        name=name, form=form, breaks=breaks, priors=tuple(priors), description=description
    )


def _parse_prior(entry: object, site: str, fail) -> Prior:
    if not isinstance(entry, dict) or "dist" not in entry:
        raise fail(f"prior {site!r} must be an inline table like {{ dist = \"Normal\", loc = 0.0, "
                   f"scale = 1.0 }}, got {entry!r}")
    name = entry["dist"]
    if not isinstance(name, str) or name not in _DISTRIBUTIONS:
        raise fail(f"prior {site!r}: unknown dist {name!r}; supported: {sorted(_DISTRIBUTIONS)}")
    _, required, support = _DISTRIBUTIONS[name]
    given = {k: v for k, v in entry.items() if k != "dist"}
    if set(given) != set(required):
        raise fail(f"prior {site!r}: {name} takes exactly {list(required)}, got {sorted(given)}")
    params = []
    for key in required:
        value = given[key]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise fail(f"prior {site!r}: {key} must be a finite number, got {value!r}")
        if key in ("scale", "df", "rate", "concentration", "concentration0", "concentration1") \
                and value <= 0:
            raise fail(f"prior {site!r}: {key} must be > 0, got {value!r}")
        params.append((key, float(value)))
    if site == "noise_variance" and name != "InverseGamma":
        raise fail(f"prior 'noise_variance' must be InverseGamma (the noise is integrated out "
                   f"analytically, which needs this conjugate prior), got {name}")
    need = _SITES[site][0]
    if support != need:
        raise fail(f"prior {site!r} needs a distribution on the {need} line, but {name} lives on "
                   f"the {support} line; choose one of "
                   f"{sorted(n for n, v in _DISTRIBUTIONS.items() if v[2] == need)}")
    return Prior(dist=name, params=tuple(params))
