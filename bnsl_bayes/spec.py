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

from .discrepancy import SITE as DISCREPANCY_SITE
from .discrepancy import SITE_INFO as DISCREPANCY_SITE_INFO
from .forms import FORMS, get_form
from .priors import DISTRIBUTIONS as _DISTRIBUTIONS
from .priors import Prior

__all__ = ["ModelSpec", "Prior", "SpecError", "available_models", "load_spec"]


class SpecError(ValueError):
    """A model specification is unknown or malformed."""


@dataclass(frozen=True)
class ModelSpec:
    """A model specification: the form, its number of breaks and its priors.

    Attributes
    ----------
    name : str
        Name of the specification (``"bnsl-1"``).
    form : str
        Functional form: ``"bnsl"``, or a baseline of the BNSL paper ``"m1"`` ... ``"m4"``
        (see :mod:`bnsl_bayes.forms`).
    breaks : int
        Number of breaks n (0 is a power law plus an asymptote); fixed by the form for
        ``m1`` ... ``m4`` (M3's shift d counts as its one break).
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

    def has_prior(self, site: str) -> bool:
        """Whether the specification gives ``site`` (optional sites may be left out)."""
        return site in dict(self.priors)

    @property
    def n_law_params(self) -> int:
        """Number of parameters of the law (BNSL: a, b, c0 and (c_i, d_i, f_i) per break)."""
        return get_form(self.form).n_law_params(self.breaks)

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
    """The folder of the bundled specifications: the repository's ``models/``, installed as the
    package ``bnsl_bayes.models``.

    Run from a source checkout (the tests from the repository root import the package from the
    working tree, which has no ``bnsl_bayes/models``), it is the ``models/`` beside the package.
    """
    try:
        return Path(str(resources.files("bnsl_bayes.models")))
    except ModuleNotFoundError:
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
    for key in ("name", "form", "priors"):
        if key not in raw:
            raise fail(f"missing key {key!r}; see the bundled models/bnsl-1.toml for the layout")
    name, form = raw["name"], raw["form"]
    if not isinstance(name, str) or not name:
        raise fail(f"'name' must be a non-empty string, got {name!r}")
    if not isinstance(form, str) or form not in FORMS:
        raise fail(f"'form' must be one of {list(FORMS)}, got {form!r}")
    shape = get_form(form)
    if shape.fixed_breaks is None:
        if "breaks" not in raw:
            raise fail("missing key 'breaks'; see the bundled models/bnsl-1.toml for the layout")
        breaks = raw["breaks"]
        if not isinstance(breaks, int) or isinstance(breaks, bool) or not 0 <= breaks <= 5:
            raise fail(f"'breaks' must be a whole number from 0 to 5, got {breaks!r}")
    else:
        breaks = raw.get("breaks", shape.fixed_breaks)
        if (not isinstance(breaks, int) or isinstance(breaks, bool)
                or breaks != shape.fixed_breaks):
            raise fail(f"form {form!r} ({shape.formula}) has a fixed shape with "
                       f"{shape.fixed_breaks} break(s); 'breaks' must be {shape.fixed_breaks} "
                       f"or left out, got {breaks!r}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise fail(f"'description' must be a string, got {description!r}")
    table = raw["priors"]
    if not isinstance(table, dict):
        raise fail("'priors' must be a table of site = { dist = ..., ... }")
    needed = shape.sites(breaks)
    missing = [s for s in needed if s not in table]
    if missing:
        raise fail(f"missing prior(s) {missing}; every site needs one: {list(needed)}")
    # optional for every form: the slope error past the data (bnsl_bayes.discrepancy)
    optional = {DISCREPANCY_SITE: DISCREPANCY_SITE_INFO}
    known = {**shape.all_sites(), **optional}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise fail(f"unknown prior site(s) {unknown} for form {form!r}; its sites are "
                   f"{sorted(known)}")
    priors = []
    for site, (support, _, _) in needed.items():
        priors.append((site, _parse_prior(table[site], site, fail, support)))
    for site, (support, _, _) in optional.items():
        if site in table:
            priors.append((site, _parse_prior(table[site], site, fail, support)))
    return ModelSpec(
        name=name, form=form, breaks=breaks, priors=tuple(priors), description=description
    )


def _parse_prior(entry: object, site: str, fail, need: str) -> Prior:
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
    if support != need:
        raise fail(f"prior {site!r} needs a distribution on the {need} line, but {name} lives on "
                   f"the {support} line; choose one of "
                   f"{sorted(n for n, v in _DISTRIBUTIONS.items() if v[2] == need)}")
    return Prior(dist=name, params=tuple(params))
