"""``python -m bnsl_bayes.cli``: the ``bnsl-bayes`` command."""

import sys

from . import main

sys.exit(main())
