"""Simulation-based calibration (Talts et al. 2018) of the BNSL forms with 0, 1 and 2 breaks.

What is simulated, compared and tested is :mod:`bnsl_bayes.sbc`'s docstring; this is its
command line.

Usage: ``python -m validation sbc [--quick] [--forms bnsl-0,bnsl-1,bnsl-2] [--simulations N]
[--budget quick|full|default] [--drift] [--seed S] [--json]``. Budgets (4 chains each): quick
300 + 250, full 500 + 500, default 1000 + 1000 (``fit``'s own defaults, so the bands a user
gets).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

from bnsl_bayes.sbc import BUDGETS, QUICK, quick, run


def _summary(res: dict) -> str:
    lines = []
    items = list(res["forms"].items())
    if "negative_control" in res:
        items.append(("negative control", res["negative_control"]))
    for name, r in items:
        lines.append(f"{name}: {r['simulations']} simulations, adjusted p = {r['p_value']:.3g}, "
                     f"{'PASS' if r['pass'] else 'FAIL'} ({r['fit_s']} s; fits with "
                     f"divergences {r['fits_with_divergences']}, r_hat > 1.01 "
                     f"{r['fits_r_hat_gt_1.01']}, median min ESS {r['median_min_ess_bulk']:.0f})")
        for k, v in r["parameters"].items():
            lines.append(f"    {k:20s} p = {v['p_value']:.3g}  mean rank {v['mean_rank']:.2f}  "
                         f"edges {v['edge_10pct']:.2f}  bins {v['counts']}")
        ex = r.get("extrapolation", {})
        if "pred_coverage_drift" in ex:
            fmt = " / ".join
            lines.append(
                f"    90% bands past the data at u = {fmt(f'{v:g}' for v in ex['u'])}: mean "
                f"{fmt(f'{v:.3f}' for v in ex['mean_coverage'])}, predictive "
                f"{fmt(f'{v:.3f}' for v in ex['pred_coverage'])}; with the drift: mean "
                f"{fmt(f'{v:.3f}' for v in ex['mean_coverage_drift'])}, predictive "
                f"{fmt(f'{v:.3f}' for v in ex['pred_coverage_drift'])}; widened "
                f"{ex['share_widened']:.2f} of fits, median width ratio "
                f"{fmt(f'{v:.2f}' for v in ex['median_width_ratio_drift'])}")
    if "extrapolation_coverage" in res:
        c = res["extrapolation_coverage"]
        lines.append(f"coverage of the 90% bands past the last fit point ({c['fits']} fits, "
                     f"binomial sd {c['binomial_sd']:.3f}):")
        for u, m, p in zip(c["u"], c["mean_coverage"], c["pred_coverage"], strict=True):
            lines.append(f"    u = {u:<5g} mean band {m:.3f}  predictive band {p:.3f}")
        for name, r in items:
            for group in ("by_break_location", "by_max_r_hat"):
                for row in r.get("extrapolation", {}).get(group, []):
                    if row["fits"]:
                        cov = " ".join(f"{v:.2f}" for v in row["mean_coverage"])
                        lo, hi = row["low"], row["high"]
                        lines.append(f"    {name} {group} ({'-inf' if lo is None else lo}, "
                                     f"{'inf' if hi is None else hi}]: "
                                     f"{row['fits']} fits, mean band {cov}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="CI size: bnsl-0, bnsl-1, 48 sims")
    ap.add_argument("--forms", default="bnsl-0,bnsl-1,bnsl-2")
    ap.add_argument("--simulations", type=int, default=200)
    ap.add_argument("--negative", type=int, default=None,
                    help="simulations of the negative control (default: as --simulations; "
                         "0 skips it)")
    ap.add_argument("--budget", choices=sorted(BUDGETS), default="full",
                    help="sampler budget without --quick (quick: 4 x (300 + 250), as --quick; "
                         "full: 4 x (500 + 500); default: 4 x (1000 + 1000), fit's defaults)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--drift", action="store_true",
                    help="also the extrapolation coverage with the leave-future-out drift "
                         "(one more fit per simulation)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.quick:
        res = quick(args.seed)
    else:
        forms = [f.strip() for f in args.forms.split(",") if f.strip()]
        neg = args.simulations if args.negative is None else args.negative
        res = run(forms, args.simulations, BUDGETS[args.budget], neg, seed=args.seed,
                  drift=args.drift)
    res["budget"] = QUICK if args.quick else BUDGETS[args.budget]
    res["time_s"] = round(time.perf_counter() - t0, 1)
    res["machine"] = {"platform": platform.platform(), "python": platform.python_version(),
                      "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(res))
    else:
        print(_summary(res))
        print(f"total {res['time_s']} s")
    neg = res.get("negative_control")
    ok = all(r["pass"] for r in res["forms"].values()) and (neg is None or not neg["pass"])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
