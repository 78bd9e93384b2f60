"""Model specifications: bundled TOML files, round trips, user files and every kind of bad file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bnsl_bayes import available_models, load_spec
from bnsl_bayes.fitting import resolve_model
from bnsl_bayes.spec import ModelSpec, Prior, SpecError, parse_spec

BUNDLED = ["bnsl-0", "bnsl-1", "bnsl-2", "bnsl-3"]
BASELINES = ["m1", "m2", "m3", "m4"]  # the paper's baseline forms (tests/test_forms.py)
BREAK_SITES = {"slope_change", "break_location", "log_sharpness"}
ALWAYS_SITES = {"level", "slope0", "asymptote_fraction", "log_height"}


def _toml_value(v) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def _raw(spec: ModelSpec) -> dict:
    """The spec as the dict its TOML file parses to (to mutate for the error cases)."""
    return {
        "name": spec.name, "form": spec.form, "breaks": spec.breaks,
        "description": spec.description,
        "priors": {site: {"dist": p.dist, **dict(p.params)} for site, p in spec.priors},
    }


def _dump(raw: dict) -> str:
    table = isinstance(raw.get("priors"), dict)
    lines = [f"{k} = {_toml_value(v)}" for k, v in raw.items() if k != "priors" or not table]
    if table:
        lines += ["", "[priors]"] + [f"{k} = {_toml_value(v)}" for k, v in raw["priors"].items()]
    return "\n".join(lines) + "\n"


def _site_with_support(spec: ModelSpec, support: str) -> str:
    return next(site for site, p in spec.priors if p.support == support)


# ---------------------------------------------------------------------------- bundled
def test_available_models():
    assert available_models() == BUNDLED + BASELINES


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_model_loads(name):
    spec = load_spec(name)
    assert isinstance(spec, ModelSpec)
    assert spec.name == name
    assert spec.form == "bnsl"
    assert spec.breaks == int(name.split("-")[1])
    assert spec.n_law_params == 3 + 3 * spec.breaks
    assert spec.description
    sites = {s for s, _ in spec.priors}
    assert ALWAYS_SITES <= sites
    assert (BREAK_SITES <= sites) == (spec.breaks > 0)
    if spec.breaks == 0:
        assert not BREAK_SITES & sites
    # one prior on a positive line (the noise) and a prior on (0, 1) for the asymptote fraction
    assert any(p.support == "positive" for _, p in spec.priors)
    assert spec.prior("asymptote_fraction").support == "unit"
    for site, prior in spec.priors:
        d = prior.build()  # a NumPyro distribution
        assert d.batch_shape == () and d.event_shape == (), site
        assert spec.prior(site) is prior


def test_bundled_priors_agree_across_break_counts():
    """The shared sites carry one set of priors, so model comparison compares forms only."""
    specs = [load_spec(n) for n in BUNDLED]
    for site, prior in specs[0].priors:
        for other in specs[1:]:
            assert other.prior(site) == prior, (site, other.name)
    for site, prior in specs[1].priors:
        for other in specs[2:]:
            assert other.prior(site) == prior, (site, other.name)


@pytest.mark.parametrize("name", BUNDLED + BASELINES)
def test_to_toml_round_trip(name):
    spec = load_spec(name)
    assert parse_spec(spec.to_toml()) == spec
    assert parse_spec(parse_spec(spec.to_toml()).to_toml()) == spec


@pytest.mark.parametrize(
    "text",
    ['has "quotes" and \\ backslash', "line\nbreak", "tab\there", "carriage\rreturn",
     "bell\x07 and del\x7f", "unicode: σ ≥ 0 — ok"],
)
def test_to_toml_round_trip_of_any_description(text):
    spec = dataclasses.replace(load_spec("bnsl-1"), description=text)
    assert parse_spec(spec.to_toml()) == spec


@pytest.mark.parametrize("name", ['my "model"', "back\\slash", "it's fine", "dir/name v2"])
def test_to_toml_round_trip_of_any_name(name):
    """A user's TOML may give any string as name (e.g. name = 'my "model"'); to_toml is stored
    with every saved fit, so it must always read back."""
    raw = _raw(load_spec("bnsl-1"))
    raw["name"] = name
    spec = parse_spec(_dump(raw))
    assert spec.name == name
    assert parse_spec(spec.to_toml()) == spec


def test_prior_round_trip_of_awkward_numbers():
    raw = _raw(load_spec("bnsl-1"))
    raw["priors"]["level"] = {"dist": "Normal", "loc": -1.2345678901234567e-7,
                              "scale": 3.3333333333333335e21}
    spec = parse_spec(_dump(raw))
    assert spec.prior("level").params == (("loc", -1.2345678901234567e-7),
                                          ("scale", 3.3333333333333335e21))
    assert parse_spec(spec.to_toml()) == spec


def test_integer_parameters_are_accepted_as_floats():
    raw = _raw(load_spec("bnsl-0"))
    raw["priors"]["level"] = {"dist": "Normal", "loc": 0, "scale": 2}
    assert parse_spec(_dump(raw)).prior("level") == Prior("Normal", (("loc", 0.0), ("scale", 2.0)))


def test_description_is_optional():
    raw = _raw(load_spec("bnsl-0"))
    del raw["description"]
    assert parse_spec(_dump(raw)).description == ""


# ---------------------------------------------------------------------------- user files
def test_user_toml_by_path(tmp_path):
    raw = _raw(load_spec("bnsl-2"))
    raw["name"] = "my-sharp-2"
    raw["priors"]["log_sharpness"] = {"dist": "Normal", "loc": -4.0, "scale": 1.0}
    path = tmp_path / "my_model.toml"
    path.write_text(_dump(raw))
    for ref in (path, str(path)):
        spec = load_spec(ref)
        assert spec.name == "my-sharp-2" and spec.breaks == 2
        assert spec.prior("log_sharpness") == Prior("Normal", (("loc", -4.0), ("scale", 1.0)))
    assert resolve_model(None, path) == spec
    assert resolve_model(2, str(path)) == spec


def test_user_toml_errors_name_the_file(tmp_path):
    path = tmp_path / "oops.toml"
    path.write_text('name = "x"\n')
    with pytest.raises(SpecError, match=r"oops\.toml.*missing key 'form'"):
        load_spec(path)


def test_missing_user_file(tmp_path):
    with pytest.raises(SpecError, match=r"unknown model.*nothere\.toml"):
        load_spec(tmp_path / "nothere.toml")


def test_file_that_is_not_toml(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text(load_spec("bnsl-1").to_toml())
    with pytest.raises(SpecError, match="unknown model"):
        load_spec(path)


def test_unreadable_bytes(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(b'name = "\xe9"\n')
    with pytest.raises(SpecError, match="latin.toml"):
        load_spec(path)


# ---------------------------------------------------------------------------- bad specs
def test_specerror_is_valueerror():
    assert issubclass(SpecError, ValueError)


def test_unknown_name_lists_available():
    with pytest.raises(SpecError, match=r"unknown model 'bnsl-9'.*bnsl-0, bnsl-1, bnsl-2, bnsl-3"):
        load_spec("bnsl-9")
    with pytest.raises(SpecError, match="unknown model"):
        load_spec("")


def test_invalid_toml_syntax():
    with pytest.raises(SpecError, match=r"not valid TOML.*fix its syntax"):
        parse_spec('name = "bnsl-1"\nbreaks = [1\n')
    with pytest.raises(SpecError, match="not valid TOML"):
        parse_spec("name = bnsl-1")


def _mutated(mutate) -> str:
    raw = _raw(load_spec("bnsl-1"))
    mutate(raw)
    return _dump(raw)


def _set_prior(site, value):
    def mutate(raw):
        raw["priors"][site] = value
    return mutate


def _positive_site():
    return _site_with_support(load_spec("bnsl-1"), "positive")


BAD_SPECS = {
    "missing_name": (lambda r: r.pop("name"), r"missing key 'name'"),
    "missing_form": (lambda r: r.pop("form"), r"missing key 'form'"),
    "missing_breaks": (lambda r: r.pop("breaks"), r"missing key 'breaks'"),
    "missing_priors": (lambda r: r.pop("priors"), r"missing key 'priors'"),
    "unknown_top_key": (lambda r: r.update(colour="red"), r"unknown key.*colour"),
    "empty_name": (lambda r: r.update(name=""), r"'name' must be a non-empty string"),
    "name_not_string": (lambda r: r.update(name=3), r"'name' must be"),
    "unknown_form": (lambda r: r.update(form="chinchilla"), r"'form' must be one of"),
    "breaks_negative": (lambda r: r.update(breaks=-1), r"'breaks' must be a whole number.*-1"),
    "breaks_float": (lambda r: r.update(breaks=1.5), r"'breaks' must be a whole number.*1\.5"),
    "breaks_float_whole": (lambda r: r.update(breaks=1.0), r"'breaks' must be a whole number"),
    "breaks_string": (lambda r: r.update(breaks="1"), r"'breaks' must be a whole number"),
    "breaks_bool": (lambda r: r.update(breaks=True), r"'breaks' must be a whole number"),
    "breaks_huge": (lambda r: r.update(breaks=99), r"'breaks' must be a whole number"),
    "description_not_string": (lambda r: r.update(description=1), r"'description' must be"),
    "priors_not_table": (lambda r: r.update(priors=[1, 2]), r"'priors' must be a table"),
    "missing_prior": (lambda r: r["priors"].pop("slope0"), r"missing prior.*slope0"),
    "missing_break_prior": (lambda r: r["priors"].pop("break_location"),
                            r"missing prior.*break_location"),
    "unknown_site": (_set_prior("temperature", {"dist": "Normal", "loc": 0.0, "scale": 1.0}),
                     r"unknown prior site.*temperature"),
    "unknown_dist": (_set_prior("level", {"dist": "Gaussian", "loc": 0.0, "scale": 1.0}),
                     r"'level'.*unknown dist 'Gaussian'.*Normal"),
    "dist_not_string": (_set_prior("level", {"dist": ["Normal"], "loc": 0.0, "scale": 1.0}),
                        r"'level'.*dist"),
    "dist_table": (_set_prior("level", {"dist": {"a": 1}, "loc": 0.0, "scale": 1.0}),
                   r"'level'.*dist"),
    "no_dist": (_set_prior("level", {"loc": 0.0, "scale": 1.0}), r"'level' must be an inline"),
    "prior_not_table": (_set_prior("level", 1.0), r"'level' must be an inline"),
    "missing_param": (_set_prior("level", {"dist": "Normal", "loc": 0.0}),
                      r"'level'.*Normal takes exactly \['loc', 'scale'\]"),
    "extra_param": (_set_prior("level", {"dist": "Normal", "loc": 0.0, "scale": 1.0, "df": 3.0}),
                    r"'level'.*Normal takes exactly"),
    "wrong_param": (_set_prior("level", {"dist": "Normal", "mu": 0.0, "sigma": 1.0}),
                    r"'level'.*Normal takes exactly"),
    "zero_scale": (_set_prior("level", {"dist": "Normal", "loc": 0.0, "scale": 0.0}),
                   r"'level'.*scale must be > 0"),
    "negative_scale": (_set_prior("slope0", {"dist": "Normal", "loc": 0.0, "scale": -2.0}),
                       r"'slope0'.*scale must be > 0"),
    "negative_df": (_set_prior("level", {"dist": "StudentT", "df": -1.0, "loc": 0.0,
                                         "scale": 1.0}), r"'level'.*df must be > 0"),
    "zero_concentration": (_set_prior("asymptote_fraction", {"dist": "Beta",
                                                             "concentration1": 0.0,
                                                             "concentration0": 1.0}),
                           r"concentration1 must be > 0"),
    "param_string": (_set_prior("level", {"dist": "Normal", "loc": "0", "scale": 1.0}),
                     r"'level'.*loc must be a finite number"),
    "param_bool": (_set_prior("level", {"dist": "Normal", "loc": True, "scale": 1.0}),
                   r"'level'.*loc must be a finite number"),
    "param_nan": (_set_prior("level", {"dist": "Normal", "loc": float("nan"), "scale": 1.0}),
                  r"'level'.*loc must be a finite number"),
    "param_inf": (_set_prior("level", {"dist": "Normal", "loc": 0.0, "scale": float("inf")}),
                  r"'level'.*scale must be a finite number"),
    "noise_normal": (lambda r: r["priors"].update(
        {_positive_site(): {"dist": "Normal", "loc": 0.0, "scale": 1.0}}),
        r"Normal"),
    "fraction_normal": (_set_prior("asymptote_fraction", {"dist": "Normal", "loc": 0.5,
                                                          "scale": 0.1}),
                        r"'asymptote_fraction' needs a distribution on the unit line.*Beta"),
    "slope_halfnormal": (_set_prior("slope0", {"dist": "HalfNormal", "scale": 1.0}),
                         r"'slope0' needs a distribution on the real line.*Normal"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_spec(case):
    mutate, pattern = BAD_SPECS[case]
    text = _mutated(mutate)
    with pytest.raises(SpecError, match=pattern) as err:
        parse_spec(text, source="mine.toml")
    assert "mine.toml" in str(err.value)


def test_break_sites_are_not_needed_without_breaks():
    raw = _raw(load_spec("bnsl-0"))
    assert not BREAK_SITES & set(raw["priors"])
    assert parse_spec(_dump(raw)).breaks == 0


# ---------------------------------------------------------------------------- resolve_model
def test_resolve_model_by_breaks():
    for n in range(4):
        assert resolve_model(n, None) == load_spec(f"bnsl-{n}")


def test_resolve_model_by_name_and_spec():
    spec = load_spec("bnsl-2")
    assert resolve_model(None, "bnsl-2") == spec
    assert resolve_model(2, "bnsl-2") == spec
    assert resolve_model(None, spec) is spec
    assert resolve_model(2, spec) is spec


@pytest.mark.parametrize(
    ("breaks", "model", "pattern"),
    [
        (2, "bnsl-1", r"breaks = 2 but model 'bnsl-1' has 1"),
        (0, "bnsl-3", r"breaks = 0 but model 'bnsl-3' has 3"),
        (1, None, None),
        (4, None, r"breaks = 4.*no bundled model bnsl-4.*model="),
        (-1, None, r"breaks = -1.*whole number"),
        (1.5, None, r"breaks = 1\.5.*whole number"),
        (True, None, r"breaks = True.*whole number"),
        ("1", None, r"breaks = '1'.*whole number"),
        (None, "bnsl-42", r"unknown model 'bnsl-42'.*bnsl-0"),
    ],
)
def test_resolve_model_errors(breaks, model, pattern):
    if pattern is None:
        assert resolve_model(breaks, model).breaks == breaks
        return
    with pytest.raises(SpecError, match=pattern):
        resolve_model(breaks, model)


def test_resolve_model_conflict_with_spec_object():
    with pytest.raises(SpecError, match=r"breaks = 3 but model 'bnsl-1' has 1"):
        resolve_model(3, load_spec("bnsl-1"))


def test_bundled_files_are_the_toml_sources():
    """The bundled files parse on their own (as a user copy of them would)."""
    from bnsl_bayes import spec as spec_module

    folder = Path(spec_module._models_dir())
    for name in BUNDLED + BASELINES:
        text = (folder / f"{name}.toml").read_text(encoding="utf-8")
        assert parse_spec(text) == load_spec(name)
