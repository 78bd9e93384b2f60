"""The progress bar (tqdm) fed with the cumulative counts of the compiled loop's callbacks."""

from __future__ import annotations

import re

from bnsl_bayes.sampling.progress import Bar


def _counts(err: str, total: int) -> list[int]:
    """The counts shown in each redraw of a bar of ``total``."""
    return [int(m) for m in re.findall(rf"\| (\d+)/{total} ", err)]


def test_bar_draws_in_place_and_ends_the_line(capsys):
    bar = Bar("sampling", "iterations")
    for i in range(1, 1001):
        bar(i, 1000)
    err = capsys.readouterr().err
    assert err.endswith("\n") and err.count("\n") == 1  # one line, redrawn with \r
    assert err.startswith("\rsampling:")
    counts = _counts(err, 1000)
    assert counts[0] == 0 and counts[-1] == 1000
    assert counts == sorted(counts)
    assert "iterations/s" in err


def test_bar_restarts_for_a_new_run(capsys):
    bar = Bar("fitting", "curves")
    bar(2, 2)
    bar(1, 3)
    bar(3, 3)
    err = capsys.readouterr().err
    assert err.count("\n") == 2
    assert _counts(err, 2)[-1] == 2 and _counts(err, 3)[-1] == 3


def test_bar_skips_late_reports(capsys):
    bar = Bar("sampling", "iterations")
    for i in (1, 50, 60, 40, 100):  # 40 arrives after 60 (host callbacks on several threads)
        bar(i, 100)
    bar(100, 100)  # a repeat of the last count (chains on several devices) draws nothing
    err = capsys.readouterr().err
    counts = _counts(err, 100)
    assert counts == sorted(counts) and counts[-1] == 100 and 40 not in counts
    assert err.count("\n") == 1
