"""Fuzzed bad input through the command line and the data API.

Whatever the file holds (nothing, a header only, text, duplicated or unicode column names, a
BOM, semicolons, NaN/inf words, 1e400, 400-digit integers, binary garbage, random text), the
command must answer with exit status 2 and one line ``bnsl-bayes...: error: ...`` on standard
error and nothing on standard output, and ``Curve.from_csv``, ``Curve.from_arrays`` and ``fit``
must raise a ``DataError`` (a ``ValueError``): never a traceback, never a hang.

No case may start NUTS: the functions ``fitting`` imports to sample are replaced by a stub that
raises :class:`SamplerReached` (valid input gets that far, and the stub checks that what it was
handed is finite: errors must come before sampling). The command runs in this process through
``bnsl_bayes.cli.main``; a few cases run the real console script as a process, with a timeout.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import signal
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import bnsl_bayes
import bnsl_bayes.fitting
from bnsl_bayes.cli import main
from bnsl_bayes.data import Curve, DataError
from bnsl_bayes.standardize import ModelData

SCRIPT = Path(sys.executable).parent / ("bnsl-bayes" + (".exe" if os.name == "nt" else ""))
PROCESS_TIMEOUT = 120  # seconds; a process that runs longer hangs (the import takes a few)
CALL_LIMIT = 20  # seconds for one in-process call (they take milliseconds)
GOOD_X = [10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1280.0]


def fixed(max_examples: int):
    return settings(max_examples=max_examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def table(header: str, *columns) -> str:
    rows = [",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in row)
            for row in zip(*columns, strict=True)]
    return header + "\n" + "\n".join(rows) + "\n"


GOOD_Y = [3.0 * x**-0.3 + 0.2 for x in GOOD_X]


def good_csv(n: int = 8, *, header: str = "x,y") -> str:
    return table(header, GOOD_X[:n], GOOD_Y[:n])


# ---------------------------------------------------------------------------- no sampling
class SamplerReached(Exception):  # noqa: N818 - not an error: the input was valid
    """Raised by the stub sampler; carries the ModelData it was handed."""

    def __init__(self, data: list[ModelData]):
        super().__init__("sampler reached")
        self.data = data


class CallTimeout(BaseException):
    """Raised by the alarm (BaseException: the command catches OSError, e.g. TimeoutError)."""


def _model_data_in(obj) -> list[ModelData]:
    if isinstance(obj, ModelData):
        return [obj]
    if isinstance(obj, list | tuple):
        return [d for item in obj for d in _model_data_in(item)]
    return []


def _stub(*args, **kwargs):
    raise SamplerReached(_model_data_in(list(args) + list(kwargs.values())))


@pytest.fixture(scope="module", autouse=True)
def no_sampler():
    """Replace every sampler ``fitting`` calls (whatever its name) by the stub."""
    names = [name for name, obj in vars(bnsl_bayes.fitting).items()
             if inspect.isfunction(obj)
             and obj.__module__.startswith(("bnsl_bayes.sampling.nuts",
                                            "bnsl_bayes.sampling.ray_backend"))]
    assert names, "found nothing in bnsl_bayes.fitting to stub out: has the sampler moved?"
    with pytest.MonkeyPatch.context() as mp:
        for name in names:
            mp.setattr(bnsl_bayes.fitting, name, _stub)
        yield names


@contextlib.contextmanager
def time_limit(seconds: float):
    def alarm(signum, frame):
        raise CallTimeout(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_main(args: list[str], *, stdin: str | None = None):
    """(exit status or the SamplerReached, stdout, stderr) of ``main(args)`` in this process."""
    out, err = io.StringIO(), io.StringIO()
    stdin_patch = (mock.patch.object(sys, "stdin", io.StringIO(stdin)) if stdin is not None
                   else contextlib.nullcontext())
    with (stdin_patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err),
          time_limit(CALL_LIMIT)):
        try:
            result = main(args)
        except SamplerReached as reached:
            result = reached
    return result, out.getvalue(), err.getvalue()


def assert_one_error_line(code, out: str, err: str, contains: str = "") -> str:
    assert code == 2, (code, out, err)
    assert out == "", out
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    line = lines[0]
    assert line.startswith("bnsl-bayes") and ": error: " in line, line
    assert contains.lower() in line.lower(), (contains, line)
    return line


def assert_valid_reached(reached: SamplerReached) -> None:
    """What reaches the sampler is finite standardized data (u in [0, 1], seeds >= 1)."""
    assert reached.data, "the sampler stub was called without ModelData"
    for d in reached.data:
        m = np.ones(np.shape(d.u)) if getattr(d, "mask", None) is None else np.asarray(d.mask)
        real = m > 0
        for field in ("u", "obs", "sqrt_seeds", "std2", "std_dof"):
            v = np.asarray(getattr(d, field), dtype=float)
            assert np.isfinite(v[real]).all(), (field, v)
        u = np.asarray(d.u)[real]
        assert u.min() == 0.0 and u.max() == 1.0, u
        assert (np.asarray(d.sqrt_seeds)[real] >= 1.0).all()


# ---------------------------------------------------------------------------- fixed cases
# name: (file content, extra CLI options, text the error line must contain)
CSV_CASES: dict[str, tuple[bytes, list[str], str]] = {
    "empty_file": (b"", [], "is empty"),
    "blank_lines": (b"\n\n\n", [], "is empty"),
    "header_only": (b"x,y\n", [], "no data rows"),
    "text_in_number_cell": (b"x,y\n1,2\n2,abc\n3,1\n", [], "'abc' is not a number"),
    "comma_decimal": (b'x,y\n1,"2,5"\n2,1\n', [], "'2,5' is not a number"),
    "duplicated_columns": (b"x,y,y\n1,2,3\n2,1,0\n", [], "duplicated column"),
    "duplicated_after_strip": (b"x, y,y \n1,2,3\n", [], "duplicated column"),
    "empty_column_names": (b",\n1,2\n", [], "duplicated column"),
    "overflow_1e400": (b"x,y\n1,2\n2,1e400\n3,1\n", [], "finite"),
    "overflow_minus_1e400": (b"x,y\n1,-1e400\n2,1\n3,1\n", ["--space", "linear"], "finite"),
    "huge_integer_cell": (b"x,y\n1,2\n2," + b"9" * 400 + b"\n", [], "too large"),
    "huge_integer_x": (b"x,y\n" + b"1" * 330 + b",2\n2,1\n", [], "too large"),
    "span_beyond_float64_linear": (
        table("x,y", GOOD_X, [1e308, -1e308, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).encode(), [],
        "beyond float64"),
    "span_beyond_float64_log": (
        table("x,y", GOOD_X, [1e308] * 7 + [1e-10]).encode(), [], "orders of magnitude"),
    "unicode_header_default_columns": ("größe,損失\n1,2\n2,1\n".encode(), [], "no column 'x'"),
    "unicode_cell": ("x,y\n1,2\n2,é\n3,1\n".encode(), [], "'é' is not a number"),
    "bom_then_too_few_points": (b"\xef\xbb\xbfx,y\n1,2\n2,1.5\n3,1.2\n", [], "fit point(s)"),
    "utf16_with_bom": ("x,y\n1,2\n2,1\n".encode("utf-16"), [], "not utf-8"),
    "semicolons": (b"x;y\n1;2\n2;1\n", [], "separated by ';'"),
    "tabs": (b"x\ty\n1\t2\n2\t1\n", [], "separated by '\\t'"),
    "nan_word": (b"x,y\n1,nan\n2,1\n3,1\n", [], "y[0] = nan"),
    "NaN_in_x": (b"x,y\nNaN,1\n2,1\n3,1\n", [], "x[0] = nan"),
    "inf_word": (b"x,y\n1,2\ninf,1\n3,1\n", [], "finite"),
    "minus_inf_word": (b"x,y\n1,-inf\n2,1\n3,1\n", [], "finite"),
    "Infinity_word": (b"x,y\n1,Infinity\n2,1\n3,1\n", [], "finite"),
    "empty_cell": (b"x,y\n1,\n2,1\n3,1\n", [], "finite"),
    "single_row": (b"x,y\n1,2\n", [], "1 fit point(s)"),
    "single_row_no_newline": (b"x,y\n1,2", ["--breaks", "0"], "1 fit point(s)"),
    "all_one_x": (b"x,y\n5,1\n5,2\n5,3\n", ["--model", "bnsl-0"], "fit point"),
    "x_zero": (b"x,y\n0,2\n1,1\n2,1\n", [], "x must be > 0"),
    "y_zero_log_space": (table("x,y", GOOD_X, GOOD_Y[:7] + [0.0]).encode(),
                         ["--space", "log"], "y > 0"),
    "negative_seeds_column": (b"x,y,n\n1,2,-1\n2,1,1\n3,1,1\n", ["--seeds", "n"], "seeds[0]"),
    "fractional_seeds_column": (b"x,y,n\n1,2,1.5\n2,1,1\n", ["--seeds", "n"], "seeds[0] = 1.5"),
    "negative_std": (b"x,y,s\n1,2,-1\n2,1,0\n", ["--std", "s"], "std[0]"),
    "bad_split_word": (b"x,y,s\n1,2,maybe\n2,1,fit\n", ["--split", "s"], "s[0] = 'maybe'"),
    "all_held_out": (table("x,y,s", GOOD_X, GOOD_Y, ["held_out"] * 8).encode(),
                     ["--split", "s"], "0 fit point(s)"),
    "row_longer_than_header": (b"x,y\n1,2,3\n4,5,6\n", [], "more fields than the header"),
    "unterminated_quote": (b'x,y\n1,"2\n2,1\n', [], "not a readable csv"),
    "field_over_csv_limit": (b"x" * 200_000 + b",y\n1,2\n", [], "not a readable csv"),
    "binary_garbage": (bytes(range(256)) * 4, [], "not utf-8"),
    "png_bytes": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", [], "not utf-8"),
    "nul_bytes": (b"x,y\n1,\x002\n2,1\n", [], "is not a number"),
    "ascii_control_garbage": (bytes(range(1, 32)) * 8, [], "column"),
}


def _check_message_quality(line: str) -> None:
    assert len(line) < 400, line  # one readable line, not a dump of the file
    assert "\x00" not in line


@pytest.mark.parametrize("name", CSV_CASES)
def test_bad_csv_file_exits_2_with_one_line(name, tmp_path):
    content, options, contains = CSV_CASES[name]
    path = tmp_path / f"{name}.csv"
    path.write_bytes(content)
    code, out, err = run_main(["fit", str(path), *options])
    line = assert_one_error_line(code, out, err, contains)
    _check_message_quality(line)


@pytest.mark.parametrize("name", CSV_CASES)
def test_bad_csv_through_the_api_raises_dataerror(name, tmp_path):
    """The same files through ``Curve.from_csv`` (then ``fit``): a DataError, before NUTS."""
    content, options, contains = CSV_CASES[name]
    path = tmp_path / f"{name}.csv"
    path.write_bytes(content)
    columns = {opt.lstrip("-"): val for opt, val in zip(options[::2], options[1::2],
                                                         strict=True)
               if opt in ("--seeds", "--std", "--split")}
    fit_options = {opt.lstrip("-"): val for opt, val in zip(options[::2], options[1::2],
                                                             strict=True)
                   if opt in ("--space", "--model")}
    if "--breaks" in options:
        fit_options["breaks"] = int(options[options.index("--breaks") + 1])
    with pytest.raises(DataError) as err:
        curve = Curve.from_csv(path, **columns)
        bnsl_bayes.fit(curve, **fit_options)
    assert contains.lower() in str(err.value).lower(), (contains, str(err.value))


@pytest.mark.parametrize("name", ["header_only", "text_in_number_cell", "semicolons",
                                  "unicode_cell", "binary_garbage", "nan_word"])
def test_bad_csv_on_stdin_exits_2(name):
    content, options, contains = CSV_CASES[name]
    text = content.decode("utf-8", errors="surrogateescape")
    code, out, err = run_main(["fit", "-", *options], stdin=text)
    assert_one_error_line(code, out, err, contains if name != "binary_garbage" else "utf-8")


def test_stdin_bom_is_read_like_a_file():
    code, out, err = run_main(["fit", "-"], stdin="\ufeff" + good_csv(3))
    assert_one_error_line(code, out, err, "3 fit point(s)")  # the BOM did not hide column x


def test_binary_stdin_is_a_clean_error():
    """Undecodable bytes on standard input (as a real ``sys.stdin`` would raise)."""
    for errors in ("strict", "surrogateescape"):  # the latter: Python's stdin on POSIX
        out, err = io.StringIO(), io.StringIO()
        with (io.TextIOWrapper(io.BytesIO(b"x,y\n\xff\xfe\x00garbage\n"), encoding="utf-8",
                               errors=errors) as raw,
              mock.patch.object(sys, "stdin", raw), contextlib.redirect_stdout(out),
              contextlib.redirect_stderr(err)):
            code = main(["fit", "-"])
        assert_one_error_line(code, out.getvalue(), err.getvalue(), "not utf-8")


BAD_OPTIONS = {
    "negative_seed": (["--seed", "-1"], "seed = -1"),
    "very_negative_seed": (["--seed", "-99999999999999999999"], "seed"),
    "seed_not_int": (["--seed", "1e3"], "invalid int"),
    "seed_unicode_digits": (["--seed", "①"], "invalid int"),
    "unicode_column": (["--x", "größe"], "no column 'größe'"),
    "breaks_negative": (["--breaks", "-1"], "breaks = -1"),
    "fit_upto_nan": (["--fit-upto", "nan"], "fit_upto"),
    "fit_upto_inf": (["--fit-upto", "inf"], "fit_upto"),
    "predict_inf": (["--predict", "1,inf"], "finite"),
    "predict_nan": (["--predict", "nan"], "finite"),
    "predict_empty_item": (["--predict", "1,,2"], "comma-separated"),
    "prob_nan": (["--prob", "nan"], "probability"),
    "chains_negative": (["--chains", "-2"], "chains"),
    "warmup_huge_negative": (["--warmup", "-1000000000000"], "warmup"),
    "target_accept_inf": (["--target-accept", "inf"], "target_accept"),
    "out_in_missing_folder": (["--out", "no/such/folder/fit.nc"], "does not exist"),
    "plot_bad_suffix": (["--plot", "fit.unknown"], "unknown image type"),
}


@pytest.mark.parametrize("name", BAD_OPTIONS)
def test_bad_options_on_good_data_exit_2_before_sampling(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("good.csv").write_text(good_csv(), encoding="utf-8")
    options, contains = BAD_OPTIONS[name]
    code, out, err = run_main(["fit", "good.csv", *options])
    assert_one_error_line(code, out, err, contains)


def test_good_input_reaches_the_stub_with_finite_data(tmp_path, no_sampler):
    """Control: valid files get as far as the (stubbed) sampler, so the cases above do fail for
    their own reasons; unicode column names and a BOM are fine."""
    cases = {
        "plain.csv": (good_csv().encode(), []),
        "bom.csv": (b"\xef\xbb\xbf" + good_csv().encode(), []),
        "unicode.csv": (good_csv(header="größe,損失").encode(), ["--x", "größe", "--y", "損失"]),
        "crlf.csv": (good_csv().replace("\n", "\r\n").encode(), []),
        "cr.csv": (good_csv().replace("\n", "\r").encode(), []),
        "huge_x.csv": (table("x,y", [x * 1e46 for x in GOOD_X], GOOD_Y).encode(),
                       ["--seed", str(2**62)]),
        "tiny_y.csv": (table("x,y", GOOD_X, [y * 1e-300 for y in GOOD_Y]).encode(), []),
    }
    for name, (content, options) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        code, out, err = run_main(["fit", str(path), *options, "--breaks", "1"])
        assert isinstance(code, SamplerReached), (name, code, err)
        assert_valid_reached(code)
        assert out == ""


def test_seed_beyond_int64_is_rejected_before_sampling(tmp_path):
    path = tmp_path / "good.csv"
    path.write_text(good_csv(), encoding="utf-8")
    code, out, err = run_main(["fit", str(path), "--seed", str(2**63)])
    assert not isinstance(code, SamplerReached), "a seed JAX cannot take reached the sampler"
    assert_one_error_line(code, out, err, "seed")


# ---------------------------------------------------------------------------- processes
PROCESS_CASES = ["binary_garbage"]  # plus garbage on standard input: two processes


def test_console_script_bad_files_exit_2(tmp_path):
    """The real console script, started together, each with a timeout (no hang)."""
    assert SCRIPT.is_file(), SCRIPT
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    stdin_garbage = b"x,y\n\xff\xfe\x00\x01garbage\n" * 50
    procs = {}
    for name in PROCESS_CASES:
        path = tmp_path / f"{name}.csv"
        path.write_bytes(CSV_CASES[name][0])
        procs[name] = subprocess.Popen(
            [str(SCRIPT), "fit", str(path), "--chains", "1", "--warmup", "1", "--samples", "1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    procs["stdin_garbage"] = subprocess.Popen(
        [str(SCRIPT), "fit", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env)
    results = {}
    try:
        for name, proc in procs.items():
            data = stdin_garbage if name == "stdin_garbage" else None
            out, err = proc.communicate(data, timeout=PROCESS_TIMEOUT)
            results[name] = (proc.returncode, out.decode(), err.decode())
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for name, (code, out, err) in results.items():
        contains = "not utf-8" if name == "stdin_garbage" else CSV_CASES[name][2]
        assert_one_error_line(code, out, err, contains)


# ---------------------------------------------------------------------------- random CSV text
_WORDS = ["", "nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e308", "-1e308",
          "9" * 400, "abc", "１２", "٣", "é", "1,5", '"1"', '"', "\ufeff1", "0", "-0", "-1",
          "1e-400", "TRUE", "null", "#", " 1 ", "1;2", "\x00", "0x10", "1_000", "fit",
          "held_out"]
_NAMES = ["x", "y", "n", "s", "sd", "größe", "損失", "", "x ", " y", "x;y", '"x"', "\ufeffx",
          "X", "y.1"]
_number = st.one_of(
    st.floats(1e-3, 1e6).map(lambda v: f"{v:.6g}"),
    st.integers(1, 10_000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
_cell = st.one_of(
    _number, _number, st.sampled_from(_WORDS),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6),
)


_COLUMN_VALUES = {
    "x": st.floats(1e-3, 1e9).map(lambda v: f"{v:.6g}"),
    "y": st.floats(-1.0, 1e3).map(lambda v: f"{v:.6g}"),
    "n": st.integers(1, 5).map(str),
    "sd": st.floats(0.0, 1.0).map(lambda v: f"{v:.3g}"),
    "s": st.sampled_from(["fit", "fit", "held_out", "1", "0", "train", "test"]),
}


@st.composite
def csv_texts(draw):
    """Half near-valid tables (x, y and optional n, sd, s columns, up to 2 cells replaced by
    junk), half junk: random names, cells and row lengths; any separator, line end, BOM."""
    if draw(st.booleans()):
        names = ["x", "y", *draw(st.lists(st.sampled_from(["n", "sd", "s"]), max_size=3,
                                          unique=True))]
        rows = draw(st.lists(st.tuples(*(_COLUMN_VALUES[c] for c in names)).map(list),
                             max_size=12))
        for _ in range(draw(st.integers(0, 2)) if rows else 0):
            i, j = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(names) - 1))
            rows[i][j] = draw(_cell)
    else:
        names = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=4))
        rows = draw(st.lists(st.lists(_cell, min_size=len(names) - 1,
                                      max_size=len(names) + 1), max_size=12))
    sep = draw(st.sampled_from([",", ",", ",", ",", ";", "\t"]))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = eol.join(sep.join(r) for r in [names, *rows])
    if draw(st.booleans()):
        text += eol
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text


_OPTIONS = st.lists(st.sampled_from([
    ["--breaks", "0"], ["--breaks", "0"], ["--space", "linear"], ["--space", "log"],
    ["--seeds", "n"], ["--std", "sd"], ["--split", "s"], ["--fit-upto", "100"],
    ["--seed", "-3"], ["--x", "größe"], ["--y", "損失"], ["--model", "bnsl-2"],
    ["--predict", "1,2"],
]), max_size=3).map(lambda groups: [a for g in groups for a in g])


def _check_outcome(result, out, err):
    if isinstance(result, SamplerReached):
        event("reached the sampler")
        assert_valid_reached(result)
        assert out == ""
    else:
        line = assert_one_error_line(result, out, err)
        event(f"error: {line.split(': error: ')[1].split(' ')[-1][:12]}")
        _check_message_quality(line)


@fixed(200)
@given(text=csv_texts(), options=_OPTIONS)
def test_random_csv_text_cli_exits_2_or_reaches_the_sampler_with_finite_data(
        text, options, tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "random.csv"
    path.write_bytes(text.encode("utf-8"))
    _check_outcome(*run_main(["fit", str(path), *options]))


@fixed(100)
@given(data=st.binary(max_size=300))
def test_random_bytes_cli_exits_2(data, tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "random.bin"
    path.write_bytes(data)
    result, out, err = run_main(["fit", str(path)])
    assert not isinstance(result, SamplerReached)  # 300 random bytes are no 6-point curve
    _check_message_quality(assert_one_error_line(result, out, err))


def _assert_curve_invariants(curve: Curve) -> None:
    assert curve.n_points >= 1
    for v in (curve.x, curve.y, curve.seeds):
        assert np.isfinite(v).all()
    assert (curve.x > 0).all() and (np.diff(curve.x) > 0).all()
    assert (curve.seeds >= 1).all() and (curve.seeds == np.round(curve.seeds)).all()
    assert not (curve.std < 0).any()
    assert curve.held_out.dtype == bool


@fixed(150)
@given(text=csv_texts())
def test_random_csv_text_api_gives_a_valid_curve_or_dataerror(text):
    with time_limit(CALL_LIMIT):
        try:
            curve = Curve.from_csv(io.StringIO(text))
        except DataError as err:
            assert str(err).strip()
            return
    _assert_curve_invariants(curve)


_array_item = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**400), 10**400),
    st.integers(-5, 10), st.booleans(), st.none(), st.text(max_size=4),
    st.sampled_from(["1", "2.5", "nan", "inf", b"3", 1j, [1.0], {"a": 1}]),
)


@fixed(200)
@given(x=st.lists(_array_item, max_size=8), y=st.lists(_array_item, max_size=8),
       seeds=st.none() | st.lists(_array_item, max_size=8),
       held_out=st.none() | st.lists(st.booleans() | st.integers(0, 2) | st.text(max_size=3),
                                     max_size=8))
def test_random_arrays_api_gives_a_valid_curve_or_dataerror(x, y, seeds, held_out):
    try:
        curve = Curve.from_arrays(x, y, seeds=seeds, held_out=held_out)
    except DataError as err:
        assert str(err)
        return
    _assert_curve_invariants(curve)
    assert len(x) == len(y)
    if held_out is not None:  # only bools and 0/1 are read as the split, never words
        assert all(isinstance(h, bool) or h in (0, 1) for h in held_out)
