"""The text progress bar drawn on standard error."""

from __future__ import annotations

from bnsl_bayes.sampling.progress import Bar


def test_bar_draws_in_place_and_ends_the_line(capsys):
    bar = Bar("sampling", "iterations")
    for i in range(1, 1001):
        bar(i, 1000)
    err = capsys.readouterr().err
    frames = err.rstrip("\n").split("\r")[1:]
    assert err.endswith("\n") and err.count("\n") == 1
    assert 50 <= len(frames) <= 101  # redrawn about every 1%, not 1000 times
    assert frames[0].startswith("sampling [" + "." * 30 + "] 1/1000 iterations")
    assert frames[-1].startswith("sampling [" + "#" * 30 + "] 1000/1000 iterations")
    half = next(f for f in frames if " 500/1000 " in f)
    assert half.count("#") == 15


def test_bar_restarts_for_a_new_run(capsys):
    bar = Bar("fitting", "curves")
    bar(2, 2)
    bar(1, 3)
    bar(3, 3)
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "1/3 curves" in err and err.rstrip().endswith("s")


def test_bar_skips_late_reports(capsys):
    bar = Bar("sampling", "iterations")
    for i in (1, 50, 60, 40, 100):  # 40 arrives after 60 (host callbacks on several threads)
        bar(i, 100)
    frames = capsys.readouterr().err.rstrip("\n").split("\r")[1:]
    assert [f.split("] ")[1].split("/")[0] for f in frames] == ["1", "50", "60", "100"]
