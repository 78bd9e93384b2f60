"""The result of a fit: posterior as an ArviZ DataTree, bands, parameters, save and load."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike

from . import checks
from .bands import band_table, curve_draws, predictive_draws, predictive_log_density
from .checks import MisfitWarning, SamplingWarning
from .data import Curve, DataError
from .discrepancy import SITE as DISCREPANCY_SITE
from .discrepancy import offset, point_noise_factor, u_past
from .drift import Drift, apply_drift
from .forms import Form, get_form
from .plot import per_break_variables, plot_fit
from .spec import ModelSpec
from .standardize import Scaling

__all__ = ["Fit", "MisfitWarning", "SamplingWarning"]

LAW_PARAMS = ("a", "b", "c0", "c", "d", "f")


def _as_prob(prob: float) -> float:
    if isinstance(prob, bool) or not isinstance(prob, int | float) or not 0 < prob < 1:
        raise ValueError(f"prob = {prob!r}: expected a probability strictly between 0 and 1, "
                         f"e.g. 0.9 for a central 90% band")
    return float(prob)


@dataclass(eq=False)
class Fit:
    """A fitted BNSL (or baseline form): the posterior and everything needed to predict from it.

    Attributes
    ----------
    data : xarray.DataTree
        ArviZ DataTree with groups ``posterior`` (law parameters in user units and sigma;
        BNSL: a, b, log_b, c0, c, d, f over dim ``break``; M1-M3: a, b, ... of their own law
        with ``log_a`` = log|a|; M4: alpha, b, c, eps_0, eps_inf, log_b; see
        :mod:`bnsl_bayes.forms`), ``sample_stats``, ``log_likelihood``,
        ``posterior_predictive``, ``observed_data``, ``constant_data`` (x, seeds), and
        ``predictions`` / ``predictions_constant_data`` after ``predict(..., store=True)``.
        ``log_b`` repeats ``b`` on a log scale (the sampler's coordinate, whose r_hat is
        checked), so pass ``var_names`` to ArviZ's plots: ``fit.form.trace_vars(fit.breaks)``
        for the law's parameters (BNSL: ``a, b, c0, c, d, f, sigma``), or a few of them to
        :func:`arviz.plot_pair`, which refuses more than 40 subplots (``["c", "d", "f"]``
        for the breaks). :class:`bnsl_bayes.plot.BreakLabeller` labels per-break parameters
        ``c1, d1, f1`` there, as :meth:`parameters` and :meth:`summary` do.
    spec : ModelSpec
        The model specification (priors on the standardized scale).
    scaling : Scaling
        The standardization of this curve.
    curve : Curve
        The data, fit and held-out points.
    seed : int
        Seed of the run; also seeds the drift's slope errors and the noise of the predictive
        draws that ``predict(..., store=True)`` keeps (the bands themselves are exact quantiles
        of the predictive mixture, drawn from nothing).
    """

    data: xr.DataTree
    spec: ModelSpec
    scaling: Scaling
    curve: Curve
    seed: int
    _flat: dict[str, np.ndarray] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ posterior access
    @property
    def breaks(self) -> int:
        """Number of breaks of the fitted form."""
        return self.spec.breaks

    @property
    def form(self) -> Form:
        """The functional form of the model (:mod:`bnsl_bayes.forms`)."""
        return get_form(self.spec.form)

    @property
    def space(self) -> str:
        """Noise space, ``"log"`` or ``"linear"``."""
        return self.scaling.space

    def draws(self) -> dict[str, np.ndarray]:
        """Posterior draws with chains stacked: scalars ``(S,)``, per-break ``(S, n)``."""
        if self._flat is None:
            post = self.data["posterior"]
            out = {}
            for name in post.data_vars:
                arr = np.asarray(post[name].values, dtype=float)
                out[str(name)] = arr.reshape((-1,) + arr.shape[2:])
            self.form.complete_draws(out)
            self._flat = out
        return self._flat

    def diagnostics(self) -> dict[str, float | int]:
        """``max_r_hat``, ``min_ess_bulk`` and post-warmup ``divergences`` (rank-normalized)."""
        return checks.diagnostics(self.data, self.form.diagnostic_vars(self.breaks))

    def tree_depth_saturation(self) -> float:
        """Share of the kept iterations whose NUTS tree reached ``max_tree_depth``.

        NaN for a fit whose file does not record the tree depths or the sampler settings.
        """
        return checks.tree_depth_saturation(self.data)

    def check(self, *, stacklevel: int = 2) -> list[str]:
        """Warn (:class:`SamplingWarning`) on divergences, r_hat > 1.01 or bulk ESS < 400, and
        when no fit point is left to estimate the noise (no more points than law parameters
        and no per-run spread); warn (:class:`MisfitWarning`) when the residuals are
        correlated along x; warn when an SMC run stopped short of the posterior. Where the NUTS
        trees also reached their maximal depth in more
        than ``TREE_DEPTH_SATURATION`` of the iterations of a form with breaks, the r_hat and
        ESS warnings add that the data pin a break weakly, and how to fit fewer. For a fit by
        tempered SMC the r_hat and ESS warnings name more particles as the fix.

        Returns
        -------
        list of str
            The messages (empty when the run looks healthy).
        """
        weak_break = self.form.name == "bnsl" and self.breaks > 0
        auto = "breaks_selection" in self.data.attrs  # chosen by breaks='auto'
        sampler = json.loads(self.data.attrs.get("sampler", "{}") or "{}")
        particles = None
        if self.data.attrs.get("sampling_method") == "smc":
            # the most per chain tried on this curve (auto's ladder may keep a smaller rung,
            # and may stop below its settings' particles)
            attempts = json.loads(self.data.attrs.get("smc_attempts", "[]") or "[]")
            particles = (max(int(a["particles"]) for a in attempts) if attempts
                         else int(sampler.get("particles", 0)))
        messages = checks.sampling_messages(
            self.diagnostics(), self.tree_depth_saturation() if weak_break else math.nan,
            self.breaks, auto, particles, int(sampler.get("chains", 4)),
            int(sampler.get("warmup", 1000)), int(sampler.get("samples", 1000)))
        smc = checks.smc_message(json.loads(self.data.attrs.get("smc", "null") or "null"))
        if smc:
            messages.append(smc)
        cd = self.data["constant_data"]
        noise = checks.noise_message(np.asarray(cd["seeds"].values),
                                     np.asarray(cd["std"].values), self.spec.n_law_params)
        if noise:
            messages.append(noise)
        for msg in messages:
            warnings.warn(msg, SamplingWarning, stacklevel=stacklevel + 1)
        misfit = checks.misfit_message(self.residual_autocorrelation(), self.form.name,
                                       self.breaks, auto)
        if misfit:
            warnings.warn(misfit, MisfitWarning, stacklevel=stacklevel + 1)
            messages.append(misfit)
        return messages

    def residual_autocorrelation(self) -> dict[str, float | int | bool]:
        """Lag-1 autocorrelation of the residuals of the posterior median curve, in x order.

        Residuals are ``obs - median of the mean curve`` in the noise space (log y or y),
        times ``sqrt(seeds)`` so that every point has the same noise sd; see
        :func:`~bnsl_bayes.checks.residual_autocorrelation`.

        Returns
        -------
        dict
            ``lag1`` (nan with fewer than 3 points), ``n`` (fit points), ``threshold`` (the
            one-sided 1% level ``z_0.99 / sqrt(n)``) and ``misfit`` (``lag1`` above it with
            at least ``MISFIT_MIN_POINTS`` points: :meth:`check` then warns).
        """
        cd = self.data["constant_data"]
        x, seeds = np.asarray(cd["x"].values), np.asarray(cd["seeds"].values)
        y = np.asarray(self.data["observed_data"]["y"].values)
        mu = curve_draws(self.draws(), x, self.spec.form)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.space == "log":
                e = np.log(y) - np.median(np.log(mu), axis=0)
            else:
                e = y - np.median(mu, axis=0)
        return checks.residual_autocorrelation(e, x, seeds)

    # ------------------------------------------------------------------ summaries
    def parameters(self, prob: float = 0.9) -> pd.DataFrame:
        """Median and central ``prob`` band of each law parameter in the user's units.

        Returns
        -------
        pandas.DataFrame
            Index: the parameters of the form's law and ``sigma`` (BNSL ``a, b, c0, c1, d1,
            f1, ..., sigma``; M1 ``a, b``; M2 ``a, b, c``; M3 ``a, b, c, d``; M4 ``alpha, b,
            c, eps_0, eps_inf``); columns ``median, lo, hi``.
        """
        prob = _as_prob(prob)
        q = [0.5, (1 - prob) / 2, (1 + prob) / 2]
        d = self.draws()
        rows = {name: np.quantile(v, q)
                for name, v in self.form.parameter_draws(d, self.breaks).items()}
        rows["sigma"] = np.quantile(d["sigma"], q)
        return pd.DataFrame.from_dict(rows, orient="index", columns=["median", "lo", "hi"])

    def summary(self, **kwargs) -> pd.DataFrame:
        """:func:`arviz.summary` of the posterior, in the package's names and 90% intervals.

        Keywords are passed to :func:`arviz.summary`; ``ci_prob`` defaults to 0.9, the
        package's bands (ArviZ's own default is 0.89). Per-break parameters are summarized as
        ``c1, d1, f1, c2, ...``, as in :meth:`parameters` (not ArviZ's ``c[1]``); in
        ``var_names``, ``c`` stands for all of them.
        """
        kwargs.setdefault("ci_prob", 0.9)
        data = self.data
        if kwargs.get("group", "posterior") == "posterior":
            post, split = per_break_variables(self.data["posterior"].to_dataset())
            if split:
                data = self.data.copy()
                data["posterior"] = xr.DataTree(post)
            names = kwargs.get("var_names")
            if names is not None and split and kwargs.get("filter_vars") is None:
                names = [names] if isinstance(names, str) else list(names)
                kwargs["var_names"] = [
                    part for v in names
                    for part in (["~" + k for k in split[v[1:]]]
                                 if v.startswith("~") and v[1:] in split else split.get(v, [v]))]
        return az.summary(data, **kwargs)

    # ------------------------------------------------------------------ prediction
    def predict(
        self,
        x: ArrayLike,
        *,
        seeds: ArrayLike | int | None = None,
        prob: float = 0.9,
        drift: Drift | None = None,
        store: bool = False,
    ) -> pd.DataFrame:
        """Median, credible band of the mean curve and predictive band at new x.

        Parameters
        ----------
        x : array_like
            Points to predict at (> 0, finite).
        seeds : int or array_like, optional
            Number of runs a new point would average over (default 1); scalar or one per x.
        prob : float
            Probability of the central, equal-tailed bands.
        drift : Drift, optional
            The law's drift past the data, measured by leave-future-out
            (:func:`bnsl_bayes.calibrate_drift`): past the last fit point each draw's mean
            curve moves by a random slope error in log x, so both bands widen by as much as the
            law strayed within the data (:mod:`bnsl_bayes.drift`). Default: the law is trusted.
        store : bool
            Also keep the draws in the DataTree: ``data["predictions"]`` (``mu`` and ``y``)
            with ``x`` and ``seeds`` in ``data["predictions_constant_data"]`` (ArviZ's groups
            for out-of-sample predictions), replacing earlier ones; :meth:`save` then writes
            them too. Default False: predicting never changes the fit.

        Returns
        -------
        pandas.DataFrame
            Columns ``x, median, mean_lo, mean_hi, pred_lo, pred_hi``, one row per x. The median
            and the credible band are quantiles of the mean curve's draws; the predictive band is
            the exact central interval of the posterior predictive, the equal-weight mixture over
            draws of the Normal noise of ``seeds`` runs about each draw's mean curve (of log y in
            the log space; :func:`bnsl_bayes.bands.predictive_quantiles`), widened where needed
            to hold the credible band. A row depends only on its own x and seeds, never on the
            other rows.
        """
        prob = _as_prob(prob)
        xs, ks = _check_new_x(x, seeds)
        mu = self._mean_draws(xs, drift)
        sigma = self.draws()["sigma"]
        if store:
            rng = np.random.default_rng([self.seed, 1])
            self._store_predictions(xs, ks, mu, predictive_draws(mu, sigma, self.space, ks, rng))
        return band_table(xs, mu, sigma, self.space, ks, prob)

    def log_predictive_density(
        self,
        x: ArrayLike,
        y: ArrayLike,
        *,
        seeds: ArrayLike | int = 1,
        drift: Drift | None = None,
    ) -> np.ndarray:
        """Log density of observed y at x under the posterior predictive, one value per point.

        The predictive is the one :meth:`predict` takes its bands from: the equal-weight mixture
        over posterior draws of the Normal noise of ``seeds`` runs about each draw's mean curve
        (moved by ``drift`` past the data, if given). The density is that of y itself, not of
        log y: in the log noise space it includes the Jacobian ``-log y``. The mean over points
        is the log score of a forecast (higher is better).

        Parameters
        ----------
        x : array_like
            Points (> 0, finite).
        y : array_like
            Observed values, one per x (finite; > 0 in the log noise space).
        seeds : int or array_like
            Number of runs each observation averages over (default 1); scalar or one per x.
        drift : Drift, optional
            The law's drift past the data, as in :meth:`predict`.

        Returns
        -------
        numpy.ndarray
            ``log p(y_j | data)``, shape ``(len(x),)``, float64.

        Raises
        ------
        DataError
            A bad x or seeds (as in :meth:`predict`), y of another length than x, y not finite,
            or y <= 0 in the log noise space.
        """
        xs, ks = _check_new_x(x, seeds)
        ys = _check_new_y(y, xs, self.space)
        mu = self._mean_draws(xs, drift)
        return predictive_log_density(mu, self.draws()["sigma"], self.space, ks, ys)

    def _mean_draws(self, xs: np.ndarray, drift: Drift | None) -> np.ndarray:
        """The mean curve per draw at ``xs``: the law, plus past the last fit point the slope
        error of :mod:`bnsl_bayes.discrepancy` (when the model gives it), moved further by
        ``drift`` if given."""
        d = self.draws()
        mu = curve_draws(d, xs, self.spec.form)
        past = u_past(xs, self.scaling.log_x0 + self.scaling.log_x_width,
                      self.scaling.log_x_width)
        if DISCREPANCY_SITE in d and np.any(past > 0):
            factor = point_noise_factor(np.asarray(self.data["constant_data"]["seeds"].values))
            delta = offset(d[DISCREPANCY_SITE], d["sigma"], factor, past)
            if self.space == "log":
                # clipped as the drift's: a far Student-t draw gives a huge but finite mean,
                # never inf (whose quantiles would be nan); up to the last fit point delta is 0
                # and the draws stay as they are
                with np.errstate(divide="ignore"):
                    moved = np.exp(np.clip(np.log(mu) + delta, -700.0, 700.0))
                mu = np.where(past > 0, moved, mu)
            else:
                mu = mu + delta
        if drift is not None:
            mu = apply_drift(mu, xs, float(self.curve.x[self.curve.fit_mask].max()), drift,
                             self.space, self.seed)
        return mu

    def _store_predictions(self, xs: np.ndarray, ks: np.ndarray, mu: np.ndarray,
                           y_new: np.ndarray) -> None:
        chains = self.data["posterior"].sizes["chain"]
        shape = (chains, -1, len(xs))
        pred = xr.Dataset(
            {"mu": (("chain", "draw", "pred_point"), mu.reshape(shape)),
             "y": (("chain", "draw", "pred_point"), y_new.reshape(shape))},
            coords={"chain": self.data["posterior"]["chain"].values,
                    "draw": self.data["posterior"]["draw"].values,
                    "pred_point": np.arange(len(xs))},
        )
        pcd = xr.Dataset({"x": ("pred_point", xs), "seeds": ("pred_point", ks)},
                         coords={"pred_point": np.arange(len(xs))})
        self.data["predictions"] = xr.DataTree(pred)
        self.data["predictions_constant_data"] = xr.DataTree(pcd)

    # ------------------------------------------------------------------ reports
    def plot(self, **kwargs):
        """Plot data, posterior median and bands; see :func:`bnsl_bayes.plot.plot_fit`."""
        return plot_fit(self, **kwargs)

    def report(self, prob: float = 0.9) -> str:
        """A readable multi-line report: data, diagnostics and parameters."""
        d = self.diagnostics()
        n_fit = int(self.curve.fit_mask.sum())
        lines = [
            f"{self.form.title(self.spec)}, {self.space} noise space",
            f"data: {self.curve.name or 'curve'}: {n_fit} fit points, "
            f"x in [{self.curve.x[self.curve.fit_mask].min():g}, "
            f"{self.curve.x[self.curve.fit_mask].max():g}], "
            f"{int(self.curve.held_out.sum())} held out",
            f"sampler: {self._sampler_line()}; divergences {d['divergences']}, "
            f"max r_hat {d['max_r_hat']:.3f}, min bulk ESS {d['min_ess_bulk']:.0f}",
            f"parameters (median and central {prob:.0%} band):",
            self.parameters(prob).to_string(float_format=lambda v: f"{v:.6g}"),
        ]
        return "\n".join(lines)

    def _sampler_line(self) -> str:
        """Which sampler ran and its size: NUTS chains, or SMC runs (with NUTS's r_hat when
        SMC replaced it) and their log evidence."""
        chains, draws = (self.data["posterior"].sizes[k] for k in ("chain", "draw"))
        if self.data.attrs.get("sampling_method", "nuts") != "smc":
            return f"NUTS, {chains} chains x {draws} draws"
        info = json.loads(self.data.attrs.get("smc", "null") or "null")
        pooled = len(info["log_evidence"]) // chains if info else 1
        line = (f"tempered SMC, {chains} runs x {draws} particles" if pooled == 1 else
                f"tempered SMC, {chains} chains x {pooled} pooled runs x {draws // pooled} "
                f"particles")
        nuts = json.loads(self.data.attrs.get("nuts_diagnostics", "null") or "null")
        if nuts:
            line += f" (NUTS before it: max r_hat {nuts['max_r_hat']:.3f})"
        if info:
            ev = np.asarray(info["log_evidence"], dtype=float)
            line += f", log evidence {ev.mean():.2f} (runs {ev.min():.2f} to {ev.max():.2f})"
        return line

    def __repr__(self) -> str:
        n_fit = int(self.curve.fit_mask.sum())
        return (f"<Fit {self.spec.name} on {self.curve.name or 'curve'!s}: {n_fit} fit points, "
                f"{self.space} space>")

    # ------------------------------------------------------------------ files
    def save(self, path: str | PathLike, *, overwrite: bool = False) -> Path:
        """Write the fit to a NetCDF file (no pickle); :func:`load` reads it back.

        Parameters
        ----------
        path : str or PathLike
            Target file, conventionally ``*.nc``.
        overwrite : bool
            Replace an existing file. By default an existing file is never touched.

        Returns
        -------
        pathlib.Path
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(
                f"{str(path)!r} exists; pass overwrite=True (CLI: choose another --out) to "
                f"replace it"
            )
        if not path.parent.exists():
            raise FileNotFoundError(f"folder {str(path.parent)!r} does not exist; create it first")
        tmp = path.with_name(path.name + ".tmp")
        self.data.to_netcdf(tmp, engine="h5netcdf")
        tmp.replace(path)
        return path


def _check_new_x(x: ArrayLike, seeds: ArrayLike | int | None) -> tuple[np.ndarray, np.ndarray]:
    try:
        xs = np.atleast_1d(np.asarray(x, dtype=float))
    except (TypeError, ValueError):
        raise DataError(f"x = {x!r}: expected numbers") from None
    if xs.ndim != 1 or xs.size == 0:
        raise DataError(f"x must be a non-empty 1-D list of numbers, got shape {xs.shape}")
    bad = ~np.isfinite(xs) | (xs <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"x[{i}] = {xs[i]}: prediction points must be finite and > 0")
    if seeds is None:
        ks = np.ones_like(xs)
    else:
        ks = np.broadcast_to(np.asarray(seeds, dtype=float), xs.shape).astype(float)
        bad = ~np.isfinite(ks) | (ks < 1) | (ks != np.round(ks))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"seeds = {ks[i]}: expected a whole number of runs >= 1")
    return xs, ks


def _check_new_y(y: ArrayLike, xs: np.ndarray, space: str) -> np.ndarray:
    try:
        ys = np.atleast_1d(np.asarray(y, dtype=float))
    except (TypeError, ValueError):
        raise DataError(f"y = {y!r}: expected numbers, one observed value per x") from None
    if ys.shape != xs.shape:
        raise DataError(f"y has shape {ys.shape}, x has shape {xs.shape}: give one observed y "
                        f"per x")
    bad = ~np.isfinite(ys)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"y[{i}] = {ys[i]}: observed values must be finite")
    if space == "log" and (ys <= 0).any():
        i = int(np.flatnonzero(ys <= 0)[0])
        raise DataError(f"y[{i}] = {ys[i]}: the fit's noise is in the log space, where y must "
                        f"be > 0; a y <= 0 has density 0 there (fit with space='linear' to "
                        f"score such values)")
    return ys
