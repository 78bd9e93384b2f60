"""Sampler budgets shared by the tests (import as ``from budgets import ...``).

A compiled sampler is cached per (form, padded length, budget), so tests that share a budget
share compiled programs; each budget is named once here instead of in every test file.
(``conftest.py`` holds fixtures and session setup; plain constants live in this module because
pytest does not make ``conftest`` importable.)
"""

from bnsl_bayes import SamplerConfig

# The small budgets test what a fit gives, not which sampler: they run NUTS alone (the default
# "auto" would refit the many small fits whose short chains disagree by SMC, and compile it per
# shape). tests/test_smc.py tests SMC and the fallback.

#: The small budget of the CLI, compare, plot and extreme-case tests: 2 chains x (150 + 150).
SMALL_SAMPLER = SamplerConfig(chains=2, warmup=150, samples=150, method="nuts")
SMALL_BUDGET = {"sampler": SMALL_SAMPLER}
#: SMALL_BUDGET without the post-fit checks.
SMALL = {**SMALL_BUDGET, "check": False}
#: SMALL_BUDGET as command-line options.
SMALL_ARGS = [a for k in ("chains", "warmup", "samples")
              for a in (f"--{k}", str(getattr(SMALL_SAMPLER, k)))] + [
    "--sampler", "nuts"]

#: The budget of the recovery tests: 4 chains x (500 + 500).
FIT_SAMPLER = SamplerConfig(chains=4, warmup=500, samples=500, method="nuts")
FIT_BUDGET = {"sampler": FIT_SAMPLER}
#: FIT_BUDGET without the post-fit checks.
FIT = {**FIT_BUDGET, "check": False}

#: The baseline forms' budget (tests/test_forms.py): 2 chains x (200 + 200), no checks.
FORMS = {"sampler": SamplerConfig(chains=2, warmup=200, samples=200, method="nuts"), "check": False}
