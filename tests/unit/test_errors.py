"""catalog_ml.errors: every error says its exit code, and errors from below are translated."""

from __future__ import annotations

import errno

import pytest

from catalog_ml import errors
from catalog_ml.errors import (
    ArtifactError,
    ConfigError,
    ConflictError,
    DataError,
    EnvironmentFault,
    LakeNotFoundError,
    translate,
)


@pytest.mark.parametrize(("error", "code"), [
    (DataError, 2), (ArtifactError, 2), (ConfigError, 64), (LakeNotFoundError, 64),
    (EnvironmentFault, 74), (ConflictError, 75)])
def test_each_kind_of_error_has_its_exit_code(error, code):
    assert error("x").exit_code == code


def test_a_refusal_of_the_machine_names_the_file_and_the_reason():
    fault = translate(OSError(errno.ENOSPC, "No space left on device", "/lake/x.parquet"))
    assert isinstance(fault, EnvironmentFault)
    assert "/lake/x.parquet" in str(fault) and "No space left" in str(fault)


def test_our_own_errors_pass_through_and_a_plain_bug_is_not_translated():
    own = ArtifactError("bad")
    assert translate(own) is own
    assert translate(ValueError("a bug")) is None
    assert translate(OSError("no errno: a bug too")) is None


def test_a_lost_delta_commit_race_is_a_retryable_conflict():
    class CommitFailedError(Exception):
        pass

    conflict = translate(CommitFailedError("version 3 exists"))
    assert isinstance(conflict, ConflictError) and "rerun" in str(conflict)


def test_every_error_class_is_listed_in_the_module_docstring():
    documented = errors.__doc__ or ""
    classes = [name for name, value in vars(errors).items()
               if isinstance(value, type) and issubclass(value, errors.CatalogMLError)
               and value is not errors.CatalogMLError]
    assert [c for c in classes if c not in documented] == []
