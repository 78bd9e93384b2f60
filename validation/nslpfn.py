"""NSL-PFN's protocol on the bundled Revisiting curves: RMSLE, LL and MSCE per domain.

Lee et al., "Bayesian Neural Scaling Law Extrapolation with Prior-Data Fitted Networks" (ICML
2025) score each curve on its held-out points and average over the curves of a domain:

- RMSLE of the predictive median, ``sqrt(mean((log median - log y)^2))``;
- LL, the mean log density of the held-out y (of y itself, not of log y);
- MSCE: for the levels 0.5, 0.6, 0.7, 0.8, 0.9, 0.95 and 0.99, the share of held-out points
  inside the central predictive interval of that level, minus the level, squared, averaged over
  the levels.

The fits are the package's defaults (``fit_many`` with nothing but the curves), so the numbers
are those a user gets. Usage (from the repository root)::

    python -m validation nslpfn --json results.json --markdown docs/results/nslpfn.md \\
        --plot docs/results/nslpfn_reliability.png
    python -m validation nslpfn --limit 2 --warmup 200 --samples 200      # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

import bnsl_bayes as bb
from bnsl_bayes.checks import passes
from bnsl_bayes.scoring import NSL_PFN_LEVELS, msce, rmsle

#: The domains of the Revisiting benchmark, and the pooled group NSL-PFN reports as NLP+Nano
#: (their nanoGPT curves are not bundled: the pool here is LM, NMT and BB).
DOMAINS = ("IC", "LM", "NMT", "BB")
POOLED = ("LM", "NMT", "BB")

#: NSL-PFN's published numbers (their rebuttal tables; IC: the 72 image-classification curves
#: with the benchmark's own split, NLP+Nano: LM, NMT, BB and a small nanoGPT set).
PUBLISHED = {
    "NSL-PFN": {"IC": (0.028, 3.330, 0.0512), "pooled": (0.019, 2.773, 0.1145)},
    "MCMC over M4": {"IC": (None, None, 0.0381), "pooled": (None, None, 0.3732)},
    "MCMC over BNSL": {"IC": (None, None, 0.0773), "pooled": (None, None, 0.3826)},
    "LC-PFN": {"IC": (None, None, 0.1809), "pooled": (None, None, 0.2674)},
}


def score_curve(fit: bb.Fit, levels: Sequence[float] = NSL_PFN_LEVELS) -> dict[str, Any]:
    """RMSLE, LL, coverage at each level and MSCE of one fit on its curve's held-out points."""
    curve = fit.curve
    x, y = curve.x[curve.held_out], curve.y[curve.held_out]
    coverage = []
    median = None
    for level in levels:
        band = fit.predict(x, seeds=1, prob=level)
        median = band["median"].to_numpy()
        inside = (band["pred_lo"].to_numpy() <= y) & (y <= band["pred_hi"].to_numpy())
        coverage.append(float(inside.mean()))
    lpd = np.asarray(fit.log_predictive_density(x, y, seeds=1), dtype=float)
    return {"rmsle": rmsle(median, y), "ll": float(lpd.mean()), "coverage": coverage,
            "msce": msce(coverage, levels), "n_held_out": int(y.size)}


def summarize(rows: dict[str, dict[str, Any]], levels: Sequence[float] = NSL_PFN_LEVELS
              ) -> dict[str, dict[str, Any]]:
    """Per-domain means over curves (and the LM + NMT + BB pool) of the per-curve scores."""
    groups = {d: [k for k in rows if k.split("/")[0] == d] for d in DOMAINS}
    groups["pooled"] = [k for d in POOLED for k in groups[d]]
    out = {}
    for name, keys in groups.items():
        if not keys:
            continue
        cov = np.array([rows[k]["coverage"] for k in keys])
        out[name] = {
            "curves": len(keys),
            "rmsle": float(np.mean([rows[k]["rmsle"] for k in keys])),
            "ll": float(np.mean([rows[k]["ll"] for k in keys])),
            "msce": float(np.mean([rows[k]["msce"] for k in keys])),
            "coverage": [float(c) for c in cov.mean(axis=0)],
            "r_hat_over_1_01": int(sum(rows[k]["max_r_hat"] > 1.01 for k in keys)),
            "diagnostics_fail": int(sum(not rows[k].get("passes", True) for k in keys)),
            "smc_fits": int(sum(rows[k].get("sampler") == "smc" for k in keys)),
        }
    return out


def markdown(res: dict[str, Any]) -> str:
    """The tables of a run: ours per domain, coverage per level, and the published numbers."""
    levels = res["levels"]
    lines = [f"Fits: {res['settings']}; {res['n_curves']} curves in {res['time_s']:.0f} s.", "",
             "| domain | curves | RMSLE | LL | MSCE | r_hat > 1.01 | diagnostics fail | "
             "by SMC |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in res["domains"].items():
        label = "LM+NMT+BB" if name == "pooled" else name
        lines.append(f"| {label} | {s['curves']} | {s['rmsle']:.4f} | {s['ll']:.3f} | "
                     f"{s['msce']:.4f} | {s['r_hat_over_1_01']} | "
                     f"{s.get('diagnostics_fail', '')} | {s.get('smc_fits', '')} |")
    lines += ["", "Coverage of the central predictive interval (mean over curves):", "",
              "| domain | " + " | ".join(f"{lv:g}" for lv in levels) + " |",
              "|---|" + "---:|" * len(levels)]
    for name, s in res["domains"].items():
        label = "LM+NMT+BB" if name == "pooled" else name
        lines.append(f"| {label} | " + " | ".join(f"{c:.3f}" for c in s["coverage"]) + " |")
    lines += ["", "Published (NSL-PFN's tables; their pool adds a nanoGPT set):", "",
              "| method | IC RMSLE | IC LL | IC MSCE | pooled RMSLE | pooled LL | pooled MSCE |",
              "|---|---:|---:|---:|---:|---:|---:|"]

    def cell(v):
        return "" if v is None else f"{v:g}"

    for method, d in PUBLISHED.items():
        lines.append(f"| {method} | " + " | ".join(cell(v) for v in (*d["IC"], *d["pooled"]))
                     + " |")
    return "\n".join(lines) + "\n"


def reliability_plot(res: dict[str, Any], path: str) -> None:
    """Observed against nominal coverage, one line per domain, as an image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = res["levels"]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
    for name, s in res["domains"].items():
        ax.plot(levels, s["coverage"], marker="o",
                label=f"{'LM+NMT+BB' if name == 'pooled' else name} (MSCE {s['msce']:.3f})")
    ax.set_xlim(0.45, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("nominal level of the central predictive interval")
    ax.set_ylabel("share of held-out points inside")
    ax.set_title("bnsl-bayes defaults on the Revisiting curves")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(*, limit: int | None = None, domains: Sequence[str] = DOMAINS, seed: int = 0,
        sampler: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fit the Revisiting curves with the package's defaults and score them."""
    rev = bb.datasets.load("revisiting")
    keys = [k for d in domains for k in [k for k in rev if k.split("/")[0] == d][:limit]]
    t0 = time.perf_counter()
    config = bb.SamplerConfig(**(sampler or {}))
    fits = bb.fit_many([rev[k] for k in keys], seed=seed, sampler=config, check=False)
    rows = {}
    for key, fit in zip(keys, fits, strict=True):
        diag = fit.diagnostics()
        rows[key] = {**score_curve(fit), "max_r_hat": diag["max_r_hat"],
                     "passes": passes(diag), "sampler": fit.data.attrs["sampling_method"],
                     "time_s": float(fit.data.attrs["time_s"]),
                     "smc_attempts": json.loads(fit.data.attrs.get("smc_attempts", "[]"))}
    return {"levels": list(NSL_PFN_LEVELS), "n_curves": len(keys),
            "settings": "package defaults" if not sampler else json.dumps(sampler),
            "time_s": time.perf_counter() - t0, "domains": summarize(rows), "curves": rows}


def held_out_summary(domains: Sequence[str] = DOMAINS,
                     levels: Sequence[float] = NSL_PFN_LEVELS) -> dict[str, Any]:
    """What a curve's held-out points let MSCE say, without fitting anything.

    Per curve: the number of held-out points and of distinct held-out y (rounded to 6 digits),
    and their spread (max / min - 1). Where a curve's held-out points are in effect one point
    (all inside or all outside each band), its MSCE is at least ``floor_covered``, reached by
    covering it at every level, and a calibrated predictive would expect ``calibrated_one_point``
    (the point's PIT uniform: ``mean(p (1 - p))`` over the levels).
    """
    rev = bb.datasets.load("revisiting")
    lv = np.asarray(levels, dtype=float)
    curves = {}
    for k in (k for k in rev if k.split("/")[0] in domains):
        y = rev[k].y[rev[k].held_out]
        curves[k] = {"n_held_out": int(y.size), "distinct": int(np.unique(np.round(y, 6)).size),
                     "spread": float(y.max() / y.min() - 1.0)}
    return {"floor_covered": float(np.mean((1.0 - lv) ** 2)),
            "calibrated_one_point": float(np.mean(lv * (1.0 - lv))), "curves": curves}


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    return obj


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="at most this many curves per domain")
    parser.add_argument("--domains", default=",".join(DOMAINS),
                        help=f"comma-separated, of {', '.join(DOMAINS)} (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first curve")
    parser.add_argument("--warmup", type=int, help="warmup per chain (default: fit's)")
    parser.add_argument("--samples", type=int, help="draws per chain (default: fit's)")
    parser.add_argument("--method", choices=("auto", "nuts", "smc"),
                        help="sampler (default: fit's, auto)")
    parser.add_argument("--json", metavar="FILE", help="write every number as JSON")
    parser.add_argument("--markdown", metavar="FILE", help="write the tables as Markdown")
    parser.add_argument("--plot", metavar="FILE.png", help="write the reliability diagram")
    parser.add_argument("--held-out", action="store_true",
                        help="only print each curve's held-out points (how many, how many "
                             "distinct) and the MSCE of one effective point; no fits")
    args = parser.parse_args(argv)
    domains = [d.strip() for d in args.domains.split(",") if d.strip()]
    bad = sorted(set(domains) - set(DOMAINS))
    if bad:
        parser.error(f"unknown domain(s) {bad}; choose from {', '.join(DOMAINS)}")
    if args.held_out:
        info = held_out_summary(domains)
        print(f"MSCE of one effective held-out point: {info['floor_covered']:.4f} if covered "
              f"at every level, {info['calibrated_one_point']:.4f} expected if calibrated")
        for k, c in info["curves"].items():
            print(f"  {k}: {c['n_held_out']} held out, {c['distinct']} distinct, "
                  f"spread {100 * c['spread']:.2f}%")
        return 0
    sampler = {k: v for k, v in (("warmup", args.warmup), ("samples", args.samples),
                                 ("method", args.method)) if v is not None}
    res = run(limit=args.limit, domains=domains, seed=args.seed, sampler=sampler)
    text = markdown(res)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(_json_safe(res), fh, indent=1)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write("# NSL-PFN's protocol, bnsl-bayes defaults\n\n"
                     "Written by `python -m validation nslpfn`.\n\n" + text)
    if args.plot:
        reliability_plot(res, args.plot)
    return 0
