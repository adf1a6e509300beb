"""Test-suite settings shared by every folder.

Hypothesis runs derandomized (the same examples on every run, so a CI result never depends on luck)
and without per-example deadlines (a shared 2-core machine makes timings unreliable).  Set
``HYPOTHESIS_PROFILE=explore`` to search with fresh random examples instead.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
