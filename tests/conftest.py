"""Session-wide setup: one JAX compilation cache for the test session and its subprocesses.

Each compiled sampler costs tens of seconds of XLA compilation. The tests run the same programs
in-process and through the ``bnsl-bayes`` command and example scripts (subprocesses); a
persistent compilation cache in a temporary folder, shared through ``XDG_CACHE_HOME`` (where the
command keeps it), lets a subprocess load what the session already compiled. It changes only
speed, never results; the folder is removed at the end and the user's own cache is not touched.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import jax

_CACHE_HOME = Path(tempfile.mkdtemp(prefix="bnsl-bayes-tests-"))
atexit.register(shutil.rmtree, _CACHE_HOME, ignore_errors=True)
os.environ["XDG_CACHE_HOME"] = str(_CACHE_HOME)
jax.config.update("jax_compilation_cache_dir", str(_CACHE_HOME / "bnsl-bayes" / "jax"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
