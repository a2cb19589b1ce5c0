"""Imports started in a thread to overlap other work are joined before that work ends: a
thread still importing when the interpreter exits can abort the process."""

from __future__ import annotations

import subprocess
import sys

import pytest

PRELOAD_THEN_END = """
from catalog_ml.pipeline.warm_encoders import preload_classifier, warm_encoders
with warm_encoders(load_settings()):
    preload_classifier()  # a night with nothing to classify ends at once
"""
UNREADABLE_DUMP = """
import datetime as dt
from catalog_ml.errors import CatalogMLError
from catalog_ml.validation.validate import validate_dump
try:
    validate_dump("/nowhere/no-dump", dt.date(2026, 11, 2), load_settings())
except CatalogMLError as exc:
    print("refused:", type(exc).__name__)
"""


@pytest.mark.parametrize("work, module", [(PRELOAD_THEN_END, "catalog_ml.pipeline.classify"),
                                          (UNREADABLE_DUMP, "great_expectations")])
def test_work_that_ends_during_a_background_import_waits_for_it(work, module):
    """A thread still inside torch's import at interpreter exit aborted a night with nothing
    to classify (exit -6): the block that started an import joins it before it ends."""
    script = ("import sys, threading\nfrom catalog_ml.config import load_settings\n"
              f"assert {module!r} not in sys.modules\n{work}\n"
              f"print('imported', {module!r} in sys.modules, 'running', [t.name for t in "
              "threading.enumerate() if t.name.startswith('catalog-ml')])\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "imported True running []", done.stdout
