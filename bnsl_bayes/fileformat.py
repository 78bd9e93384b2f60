"""The file format of a fit: the ArviZ DataTree a run is stored as, and its reader.

:func:`build_datatree` lays out the groups (``posterior`` in user units, ``sample_stats``,
``log_likelihood``, ``posterior_predictive``, ``observed_data``, ``constant_data``, and
``held_out_data`` when the curve has held-out points) and the attributes that :func:`load` needs
to rebuild the :class:`~bnsl_bayes.result.Fit` (the model file, the scaling, the seed).
:meth:`Fit.save <bnsl_bayes.result.Fit.save>` writes that tree to NetCDF unchanged.
"""

from __future__ import annotations

import json
import math
from importlib.metadata import PackageNotFoundError, version
from os import PathLike
from pathlib import Path

import arviz as az
import numpy as np
import xarray as xr

from .bands import curve_draws, predictive_draws
from .data import Curve
from .discrepancy import SITE as DISCREPANCY_SITE
from .discrepancy import draw_slopes
from .forms import get_form
from .likelihood import draw_noise
from .result import Fit
from .spec import ModelSpec, parse_spec
from .standardize import ModelData, Scaling

__all__ = ["FORMAT_VERSION", "build_datatree", "json_attr", "load"]

#: Version of the layout; :func:`load` reads it and every older one and refuses a newer one.
#: 2: the posterior may hold ``extrapolation_slope`` and the model file its prior.
FORMAT_VERSION = 2


def _package_version() -> str:
    try:
        return version("bnsl-bayes")
    except PackageNotFoundError:  # pragma: no cover - source tree without install
        return "unknown"


def build_datatree(
    values: dict[str, np.ndarray],
    stats: dict[str, np.ndarray],
    *,
    spec: ModelSpec,
    scaling: Scaling,
    curve: Curve,
    mdata: ModelData,
    seed: int,
) -> xr.DataTree:
    """The ArviZ DataTree of a run: user-unit posterior, pointwise log likelihood, PPC, data.

    The noise sd ``sigma`` (integrated out during sampling) is drawn here from its exact
    conditional posterior given each curve, and the slope error past the data
    (:mod:`.discrepancy`, when the spec gives it) from its prior, which is its posterior.
    """
    form = get_form(spec.form)
    params = form.user_params(values, scaling, spec)
    chains, draws = np.shape(values["level"])[:2]
    m = curve.fit_mask
    x, y, n = curve.x[m], curve.y[m], curve.seeds[m]
    flat = {k: v.reshape((chains * draws,) + v.shape[2:]) for k, v in params.items()}
    mu = curve_draws(flat, x, spec.form)
    if scaling.space == "log":
        resid = np.log(y)[None, :] - np.log(mu)
        unit = 1.0
    else:
        resid = (y[None, :] - mu) / scaling.y_scale
        unit = scaling.y_scale
    rng = np.random.default_rng([seed, 0])
    flat["sigma"] = unit * draw_noise(resid, mdata, spec, rng)
    params["sigma"] = flat["sigma"].reshape(chains, draws)
    sd = flat["sigma"][:, None] / np.sqrt(n)[None, :]
    if scaling.space == "log":
        z = (np.log(y)[None, :] - np.log(mu)) / sd
        loglik = -0.5 * z**2 - np.log(sd) - 0.5 * np.log(2 * np.pi) - np.log(y)[None, :]
    else:
        z = (y[None, :] - mu) / sd
        loglik = -0.5 * z**2 - np.log(sd) - 0.5 * np.log(2 * np.pi)
    y_rep = predictive_draws(mu, flat["sigma"], scaling.space, n, rng)
    shape = (chains, draws, len(x))
    names, var_dims = form.posterior_vars(spec.breaks)
    scalar = [k for k in names if k not in var_dims]
    posterior = {k: params[k] for k in scalar + ["sigma"]}
    if spec.has_prior(DISCREPANCY_SITE):
        # the slope error past the data touches no fit point: its posterior is its prior,
        # drawn exactly here from a stream of its own (the draws above stay as they were)
        posterior[DISCREPANCY_SITE] = draw_slopes(
            spec.prior(DISCREPANCY_SITE), chains * draws,
            np.random.default_rng([seed, 3])).reshape(chains, draws)
    posterior.update({k: params[k] for k in names if k in var_dims})
    dims = {"y": ["point"], "x": ["point"], "seeds": ["point"], "std": ["point"], **var_dims}
    attrs = {
        "/": {
            "bnsl_bayes_format": FORMAT_VERSION,
            "bnsl_bayes_version": _package_version(),
            "model": spec.name,
            "breaks": spec.breaks,
            "space": scaling.space,
            "seed": seed,
            "curve_name": curve.name,
            "x_label": curve.x_label,
            "y_label": curve.y_label,
            "spec_toml": spec.to_toml(),
            "scaling": json_attr(scaling.to_dict()),
        }
    }
    dt = az.from_dict(
        {
            "posterior": posterior,
            "sample_stats": stats,
            "log_likelihood": {"y": loglik.reshape(shape)},
            "posterior_predictive": {"y": y_rep.reshape(shape)},
            "observed_data": {"y": y},
            "constant_data": {"x": x, "seeds": n, "std": curve.std[m]},
        },
        dims=dims,
        coords={"point": np.arange(len(x)),
                **({"break": np.arange(1, spec.breaks + 1)} if var_dims else {})},
        attrs=attrs,
    )
    dt.attrs.update(attrs["/"])
    if curve.held_out.any():
        h = curve.held_out
        dt["held_out_data"] = xr.DataTree(xr.Dataset(
            {"x": ("held_out_point", curve.x[h]), "y": ("held_out_point", curve.y[h]),
             "seeds": ("held_out_point", curve.seeds[h]), "std": ("held_out_point", curve.std[h])},
            coords={"held_out_point": np.arange(int(h.sum()))},
        ))
    return dt


def load(path: str | PathLike) -> Fit:
    """Read a fit written by :meth:`Fit.save`.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a bnsl-bayes fit.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    try:
        dt = xr.open_datatree(path, engine="h5netcdf")
        dt = dt.load()
    except Exception as exc:  # noqa: BLE001 - any reader failure means "not a fit file"
        raise ValueError(f"{str(path)!r} is not a readable NetCDF fit file ({exc})") from None
    attrs = dt.attrs
    if "bnsl_bayes_format" not in attrs:
        raise ValueError(f"{str(path)!r} was not written by bnsl-bayes (no bnsl_bayes_format)")
    if int(attrs["bnsl_bayes_format"]) > FORMAT_VERSION:
        raise ValueError(f"{str(path)!r} has format {attrs['bnsl_bayes_format']}, newer than "
                         f"this bnsl-bayes reads ({FORMAT_VERSION}); upgrade bnsl-bayes")
    spec = parse_spec(str(attrs["spec_toml"]), source=f"{path}:spec_toml")
    scaling = Scaling(**json.loads(str(attrs["scaling"])))
    curve = curve_from_tree(dt, str(attrs.get("curve_name", "")))
    return Fit(data=dt, spec=spec, scaling=scaling, curve=curve, seed=int(attrs["seed"]))


def curve_from_tree(dt: xr.DataTree, name: str) -> Curve:
    """Rebuild the Curve (fit and held-out points) stored in a fit's DataTree (axis labels
    ``x`` and ``y`` for files written before they were stored)."""
    obs = dt["observed_data"]
    const = dt["constant_data"]
    parts = [(np.asarray(const["x"].values), np.asarray(obs["y"].values),
              np.asarray(const["seeds"].values), np.asarray(const["std"].values),
              np.zeros(obs.sizes["point"], dtype=bool))]
    if "held_out_data" in dt.children:
        h = dt["held_out_data"]
        parts.append((np.asarray(h["x"].values), np.asarray(h["y"].values),
                      np.asarray(h["seeds"].values), np.asarray(h["std"].values),
                      np.ones(h.sizes["held_out_point"], dtype=bool)))
    x, y, s, sd, ho = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = np.argsort(x, kind="stable")
    return Curve(x[order], y[order], s[order], sd[order], ho[order], name,
                 str(dt.attrs.get("x_label", "x")), str(dt.attrs.get("y_label", "y")))


def json_attr(value: dict) -> str:
    """JSON text for a file attribute (finite floats only)."""
    return json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                       for k, v in value.items()})
