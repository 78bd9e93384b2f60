"""How the slope error past the data (bnsl_bayes.discrepancy) was chosen: grouped CV.

The law's posterior does not depend on the discrepancy (it is 0 on the fit range), so one set of
fits of the 92 Revisiting curves scores every candidate predictive exactly: per posterior draw,
a new point past the data is Normal around the draw's mean with variance

    sigma^2 [1 + (om^2 + tb^2 (u - 1) + tau^2 (u - 1)^2) / g],   g ~ chi2(df) / df per draw

(om: a nugget, tb: a Brownian drift, tau: a slope error, all in units of the fit points' noise;
df = None: g = 1). A last family moves the centre too: a share m of the law's curvature past the
data is replaced by the straight continuation of its log-log slope at the last fit point,
``log mu + m (log mu(x_last) + slope (u - 1) - log mu)`` (m = 0: the law trusted; m = 1: no
bending past the data; "uniform": m ~ Uniform(0, 1) per draw). Each candidate is scored with
NSL-PFN's protocol (RMSLE of the median, LL of held-out y, MSCE over 7 levels, per curve,
averaged per domain). The groups are the 4 vision
data sets (bird, c, cal, inet: 3 shot counts x 6 models each), LM, NMT and BB; for each group the
candidate is chosen on the other 6 and scored on it, and the tables report the held-out groups.

    python -m validation discrepancy_cv                     # fits the 92 curves (~6-10 min)
    python -m validation discrepancy_cv --fits DIR          # reuse fits saved as DIR/NNN.nc
    python -m validation discrepancy_cv --table "curvature discount, Student-t slope"
    python -m validation discrepancy_cv --save-fits DIR     # fits them and saves them there
    python -m validation discrepancy_cv --breaks 0 --save-fits DIR0
    python -m validation discrepancy_cv --fits DIR --zero-break-fits DIR0   # + the mixture

With ``--zero-break-fits`` (the same curves fitted with ``breaks=0``, saved the same way) one
more family mixes the two forms' predictives, a share w of the draws from the 0-break fit, with
the Student-t slope error on both (w = 0: the default).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence

import numpy as np
from scipy.special import logsumexp, ndtr

import bnsl_bayes as bb
from bnsl_bayes.bands import curve_draws
from bnsl_bayes.scoring import NSL_PFN_LEVELS

LEVELS = np.asarray(NSL_PFN_LEVELS)


def arrays(fit: bb.Fit, key: str, n_draws: int = 1000) -> dict:
    """What scoring needs of one fit: law draws at the held-out x, sigma, u - 1, log y."""
    c = fit.curve
    d = fit.draws()
    idx = np.linspace(0, d["sigma"].size - 1, min(n_draws, d["sigma"].size)).astype(int)
    sub = {k: v[idx] for k, v in d.items()}
    xh, yh = c.x[c.held_out], c.y[c.held_out]
    w = fit.scaling.log_x_width
    x_last = c.x[c.fit_mask].max()
    factor = float(np.sqrt(np.mean(1.0 / c.seeds[c.fit_mask])))
    eps = 1e-4  # d log mu / du at the last fit point, by a one-sided difference in u
    lm = np.log(curve_draws(sub, np.concatenate([xh, [x_last, x_last * np.exp(eps * w)]]),
                            fit.spec.form))
    lm, end = lm[:, :-2], lm[:, -2:]
    return {"key": key, "lm": lm, "sigma": sub["sigma"] * factor, "ly": np.log(yh),
            "du": (np.log(xh) - np.log(x_last)) / w,
            "end": end[:, 0], "slope": (end[:, 1] - end[:, 0]) / eps}


def score(c: dict, om=0.0, tb=0.0, tau=0.0, df=None, m=0.0) -> dict:
    """NSL-PFN's scores of one curve under one candidate (exact mixture over draws)."""
    lm, sig, ly, du = c["lm"], c["sigma"][:, None], c["ly"], c["du"][None, :]
    if m == "uniform":
        m = np.random.default_rng(2).random(sig.shape[0])[:, None]
    if np.any(m):
        lm = lm + m * (c["end"][:, None] + c["slope"][:, None] * du - lm)
    g = np.ones_like(sig)
    if df is not None:
        g = (np.random.default_rng(0).chisquare(df, size=sig.shape[0]) / df)[:, None]
    sd = sig * np.sqrt(1.0 + (om**2 + tb**2 * du + tau**2 * du**2) / g)
    z = (ly[None, :] - lm) / sd
    pit = ndtr(z).mean(0)
    logp = logsumexp(-0.5 * z**2 - np.log(sd) - 0.5 * np.log(2 * np.pi), axis=0) \
        - np.log(lm.shape[0])
    cov = np.array([np.mean(np.abs(pit - 0.5) <= lv / 2) for lv in LEVELS])
    return {"rmsle": float(np.sqrt(np.mean((np.median(lm, 0) - ly) ** 2))),
            "ll": float(np.mean(logp - ly)), "cov": cov,
            "msce": float(np.mean((cov - LEVELS) ** 2))}


def mixed(c1: dict, c0: dict, w: float) -> dict:
    """The arrays of the mixture of two fits' predictives: a share ``w`` of the draws from
    ``c0``'s, the rest from ``c1``'s (evenly spaced among each fit's draws)."""
    n = c1["lm"].shape[0]
    n0 = int(round(w * n))
    i0 = np.linspace(0, c0["lm"].shape[0] - 1, n0).astype(int)
    i1 = np.linspace(0, n - 1, n - n0).astype(int)
    return {**c1, **{k: np.concatenate([c0[k][i0], c1[k][i1]])
                     for k in ("lm", "sigma", "end", "slope")}}


MIXTURE = "mixture with the 0-break fit, Student-t slope"
MIXTURE_GRID = [{"w": w, "tau": t, "df": 3} for w in (0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1)
                for t in (10, 15, 20, 30, 45)]


def group(key: str) -> str:
    dom = key.split("/")[0]
    return f"IC:{key.split('/')[1].split('_')[0]}" if dom == "IC" else dom


def domain_table(rows: dict) -> dict:
    out = {}
    for name, doms in (("IC", ("IC",)), ("LM", ("LM",)), ("NMT", ("NMT",)), ("BB", ("BB",)),
                       ("pooled", ("LM", "NMT", "BB"))):
        ks = [k for k in rows if k.split("/")[0] in doms]
        if ks:
            out[name] = {"curves": len(ks),
                         "rmsle": float(np.mean([rows[k]["rmsle"] for k in ks])),
                         "ll": float(np.mean([rows[k]["ll"] for k in ks])),
                         "msce": float(np.mean([rows[k]["msce"] for k in ks])),
                         "coverage": np.mean([rows[k]["cov"] for k in ks], 0).tolist()}
    return out


FAMILIES = {
    "nugget": [{"om": o} for o in (0, 1, 1.5, 2, 2.5, 3, 4, 5)],
    "brownian": [{"tb": t} for t in (0, 2, 4, 6, 8, 12, 16, 24)],
    "slope (Normal)": [{"tau": t} for t in (0, 5, 10, 20, 40, 80)],
    "slope (Student-t)": [{"tau": t, "df": d} for t in (0, 15, 20, 30, 45, 60, 90)
                          for d in (1, 2, 3, 5, 10)],
    "all three, Student-t": [{"om": o, "tb": b, "tau": t, "df": d} for o in (0, 1, 2)
                             for b in (0, 4, 8) for t in (0, 10, 20, 30) for d in (None, 3, 5)],
    "curvature discount, Student-t slope": [{"tau": t, "df": 3, "m": m} for t in (15, 20, 30, 45)
                                            for m in (0, 0.25, 0.5, 0.75, 1, "uniform")],
}


def choose_by_group(keys: list[str], grid: list, table: list[dict], how: str
                    ) -> tuple[dict, dict]:
    """Leave-one-group-out choice: for each group, the candidate of ``grid`` with the best mean
    ``how`` score over the other groups' curves (``table``: per candidate, per curve key, its
    scores; "ll" is maximized, anything else minimized). Returns the held-out curves' rows
    under their group's choice, and the choice per group."""
    held, chosen = {}, {}
    sign = 1.0 if how == "ll" else -1.0
    for g in sorted({group(k) for k in keys}):
        train = [k for k in keys if group(k) != g]
        best = max(range(len(grid)),
                   key=lambda i: sign * np.mean([table[i][k][how] for k in train]))
        chosen[g] = grid[best]
        held.update({k: table[best][k] for k in keys if group(k) == g})
    return held, chosen


def cross_validate(curves: list[dict], grid: list[dict], table: list[dict], how: str
                   ) -> tuple[dict, dict]:
    """Leave-one-group-out choice (``how``: "ll" maximizes mean LL, "msce" minimizes mean
    MSCE over the other groups' curves) from ``table`` (per candidate of ``grid``, per curve
    key, its scores); the held-out groups' rows and the choices."""
    held, chosen = choose_by_group([c["key"] for c in curves], grid, table, how)
    return domain_table(held), chosen


def load_fits(folder: str) -> tuple[list[str], list[bb.Fit]]:
    """The curve keys (``meta.json``) and fits (``NNN.nc``) saved in ``folder``."""
    with open(os.path.join(folder, "meta.json"), encoding="utf-8") as fh:
        keys = json.load(fh)["keys"]
    return keys, [bb.load(os.path.join(folder, f"{i:03d}.nc")) for i in range(len(keys))]


def save_fits(folder: str, keys: list[str], fits: list[bb.Fit]) -> None:
    """Save ``fits`` as :func:`load_fits` reads them."""
    os.makedirs(folder, exist_ok=True)
    for i, f in enumerate(fits):
        f.save(os.path.join(folder, f"{i:03d}.nc"), overwrite=True)
    with open(os.path.join(folder, "meta.json"), "w", encoding="utf-8") as fh:
        json.dump({"keys": keys}, fh)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", help="folder of saved fits NNN.nc and meta.json (keys)")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--table", metavar="FAMILY", action="append", default=[],
                        choices=[*FAMILIES, MIXTURE],
                        help="also print every candidate of FAMILY scored on all curves "
                             "(in-sample: what each would give, not a forecast)")
    parser.add_argument("--save-fits", metavar="DIR",
                        help="save the fits it makes (without --fits) as DIR/NNN.nc")
    parser.add_argument("--breaks", type=int, default=1, choices=(0, 1, 2),
                        help="breaks of the fits it makes (default 1, fit's)")
    parser.add_argument("--zero-break-fits", metavar="DIR0",
                        help="the same curves fitted with breaks=0, saved as --fits saves "
                             "them: adds the mixture family")
    args = parser.parse_args(argv)
    if args.fits and (args.save_fits or args.breaks != 1):
        parser.error("--save-fits and --breaks apply to the fits it makes: leave them out "
                     "with --fits")
    if MIXTURE in args.table and not args.zero_break_fits:
        parser.error(f"--table {MIXTURE!r} needs --zero-break-fits")
    for folder in filter(None, (args.fits, args.zero_break_fits)):
        if not os.path.isfile(os.path.join(folder, "meta.json")):
            parser.error(f"{folder}: no meta.json there; make the folder with --save-fits")
    if args.fits:
        keys, fits = load_fits(args.fits)
    else:
        rev = bb.datasets.load("revisiting")
        keys = list(rev)
        fits = bb.fit_many([rev[k] for k in keys], breaks=args.breaks, seed=0, check=False)
        if args.save_fits:
            save_fits(args.save_fits, keys, fits)
    curves = [arrays(f, k) for f, k in zip(fits, keys, strict=True)]
    families = {name: (grid, None) for name, grid in FAMILIES.items()}
    if args.zero_break_fits:
        keys0, fits0 = load_fits(args.zero_break_fits)
        if keys0 != keys:
            parser.error(f"--zero-break-fits {args.zero_break_fits}: its curves are not those "
                         f"of the fits")
        families[MIXTURE] = (MIXTURE_GRID, [arrays(f, k) for f, k in zip(fits0, keys, strict=True)])
    res = {"plain": domain_table({c["key"]: score(c) for c in curves}), "families": {}}
    for name, (grid, zero) in families.items():
        if zero is None:
            table = [{c["key"]: score(c, **th) for c in curves} for th in grid]
        else:
            table = [{c["key"]: score(mixed(c, z, th["w"]), tau=th["tau"], df=th["df"])
                      for c, z in zip(curves, zero, strict=True)} for th in grid]
        for how in ("ll", "msce"):
            tab, chosen = cross_validate(curves, grid, table, how)
            res["families"][f"{name}, by {how}"] = {"held_out": tab, "chosen": chosen}
        if name in args.table:
            print(f"== {name}, every candidate on all curves (IC and LM+NMT+BB: RMSLE / LL / "
                  "MSCE; then RMSLE per group)")
            groups = sorted({group(c["key"]) for c in curves})
            for th, rows in zip(grid, table, strict=True):
                t = domain_table(rows)
                print(f"  {th}: " + "  ".join(
                    f"{d} {t[d]['rmsle']:.4f} / {t[d]['ll']:.3f} / {t[d]['msce']:.4f}"
                    for d in ("IC", "pooled")) + " | " + " ".join(
                    f"{g} {np.mean([r['rmsle'] for k, r in rows.items() if group(k) == g]):.4f}"
                    for g in groups))
    for name, r in [("plain", {"held_out": res["plain"], "chosen": {}}),
                    *res["families"].items()]:
        print(f"== {name}: chosen {r['chosen']}")
        for dom, s in r["held_out"].items():
            print(f"  {dom:6s} n={s['curves']:2d} RMSLE {s['rmsle']:.4f} LL {s['ll']:.3f} "
                  f"MSCE {s['msce']:.4f} cov " + " ".join(f"{v:.2f}" for v in s["coverage"]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1, default=str)
    return 0
