"""Quick start: fit the 4-digit-addition curve of the BNSL paper and extrapolate past it.

Fits the first 14 points (1 break), prints the parameters, the extrapolation table with its
bands and whether the 90% predictive band covers the 3 held-out points, and saves the plot.

    python examples/quickstart.py [--quick] [--out FIGURE.png]

``--quick`` uses a small sampling budget (for the tests); the default is the full 4 x (1000 +
1000) run.
"""

from __future__ import annotations

import argparse
import warnings

import matplotlib

matplotlib.use("Agg")

import bnsl_bayes as bb  # noqa: E402


def main(argv: list[str] | None = None) -> bb.Fit:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budget (for the tests)")
    parser.add_argument("--out", default="four_digit_addition.png", help="figure file")
    args = parser.parse_args(argv)
    # the tests' budget, NUTS alone (SMC would refit its short, unconverged chains)
    quick = bb.SamplerConfig(chains=2, warmup=150, samples=150, method="nuts")
    budget = {"sampler": quick} if args.quick else {}

    curve = bb.datasets.load("four_digit_addition")
    with warnings.catch_warnings():
        if args.quick:  # a small budget has a small ESS by design
            warnings.simplefilter("ignore", bb.SamplingWarning)
        fit = bb.fit(curve, breaks=1, seed=0, **budget)
    print(fit.report())

    held = curve.held_out
    table = fit.predict(list(curve.x[held]) + [1000.0, 1500.0, 2000.0], prob=0.9)
    table["y_held_out"] = list(curve.y[held]) + [float("nan")] * 3
    inside = (table["pred_lo"] <= table["y_held_out"]) & (table["y_held_out"] <= table["pred_hi"])
    table["covered"] = inside.where(table["y_held_out"].notna(), None)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))

    fig = fit.plot(prob=0.9)
    fig.savefig(args.out, dpi=120, bbox_inches="tight")
    print(f"figure: {args.out}")
    return fit


if __name__ == "__main__":
    main()
