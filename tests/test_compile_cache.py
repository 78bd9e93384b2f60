"""use_compile_cache: JAX's persistent compilation cache, turned on for the process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jax
import pytest

import bnsl_bayes as bb
from bnsl_bayes.sampling.devices import default_cache_folder


def test_sets_jax_cache_folder_in_a_fresh_process(tmp_path):
    folder = tmp_path / "nested" / "cache"
    code = ("import jax, bnsl_bayes as bb; "
            f"p = bb.use_compile_cache({str(folder)!r}); "
            "print(p); print(jax.config.jax_compilation_cache_dir); "
            "print(jax.config.jax_persistent_cache_min_compile_time_secs)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True).stdout.split()
    assert out == [str(folder), str(folder), "1.0"]
    assert folder.is_dir()


def test_default_folder_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_folder() == tmp_path / "bnsl-bayes" / "jax"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_folder() == Path.home() / ".cache" / "bnsl-bayes" / "jax"


def test_unusable_folder_warns_and_changes_nothing(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    before = jax.config.jax_compilation_cache_dir
    with pytest.warns(UserWarning, match="a_file.*writable folder"):
        assert bb.use_compile_cache(blocker / "cache") is None
    assert jax.config.jax_compilation_cache_dir == before
    assert blocker.read_text() == "not a folder"


def test_quiet_skips_the_warning(tmp_path, recwarn):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert bb.use_compile_cache(blocker / "cache", quiet=True) is None
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
