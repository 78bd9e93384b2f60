"""The seeds study on the BNSL paper's limit-of-predictability experiment (Section 6).

The paper fitted the noiseless 4-digit-addition law (infinitely many seeds) up to a cutoff and
found that the fit predicts past the break from a cutoff of about 405, not at 390. This script
asks the same with a finite number of seeds per point (1 to 10^5, each run as noisy as a real
4-digit-addition run) and with a posterior: for each seed count and cutoff it simulates 20 data
sets, fits each, and reports the error of the median at x = 800, 928, 1500, 4000, whether the
90% band covers the truth, and its width; then the smallest seed count per cutoff whose repeats
extrapolate within 5%.

    python examples/seeds_four_digit_addition.py [--quick] [--out FIGURE.png] [--csv TABLE.csv]

``--quick`` runs a 2 x 2 x 2 version with the tests' small sampler budget.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")

import bnsl_bayes as bb  # noqa: E402
from bnsl_bayes import seeds  # noqa: E402


def main(argv: list[str] | None = None) -> bb.seeds.SeedsStudy:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small study (for the tests)")
    parser.add_argument("--out", default="seeds_four_digit_addition.png", help="figure file")
    parser.add_argument("--csv", default=None, help="write the tidy table to this CSV file")
    args = parser.parse_args(argv)

    design = seeds.example("four-digit-addition", quick=args.quick)
    if args.quick:  # the tests' budget (fit's own sampler takes half a minute more)
        design["sampler"] = bb.SamplerConfig(chains=2, warmup=200, samples=200, method="nuts")
    study = bb.seeds_study(**design, check=False)  # the report names unconverged cells
    print(study.report())
    low = study.summary["coverage"].min()
    print(f"lowest coverage of the 90% band over the cells: {low:.2f}")
    if args.csv:
        print(f"table: {study.to_csv(args.csv)}")
    fig = study.plot()
    fig.savefig(args.out, dpi=110)
    print(f"figure: {args.out}")
    return study


if __name__ == "__main__":
    main()
