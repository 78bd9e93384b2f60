"""Statistical validation of the package: calibration (SBC), extrapolation against held-out
points and the paper's point fits, convergence, and the checks behind the seeds study.

Run from the repository root: ``python -m validation`` lists the scripts,
``python -m validation NAME [args]`` runs one. Speed lives in ``benchmarks/``.
"""
