"""The errors catalog-ml raises on purpose, and the exit code each one means.

Every error a user can cause (a bad dump, a typo in a review sheet, a wrong setting, a full
disk) is one of these, with a message naming the file, row or setting. The CLI prints it on
one line and exits with its code; Airflow fails a ``DataError`` at once, without retries.
Anything else that escapes is a bug and is shown with its traceback.

    CatalogMLError
    ├── DataError          exit 2   the input is wrong: fix the data, then rerun
    │   ├── DumpError               (catalog_ml.validation.dump) a night's dump cannot be used
    │   ├── ReviewFileError         a review sheet with bad rows (nothing imported)
    │   ├── MissingEmbeddingsError  products without vectors for the model's encoders
    │   ├── NightMissingError       a night that never ran on this lake
    │   ├── LabelsError             labels that cannot train (too few categories / products)
    │   └── ArtifactError           a model artifact that fails its checks
    ├── ConfigError        exit 64  a setting, option, path or statement is wrong
    │   └── LakeNotFoundError       no lake at the configured place
    ├── EnvironmentFault   exit 74  the machine refused: disk full, read-only, permission
    └── ConflictError      exit 75  another writer holds the lake or won a race: retry later
"""

from __future__ import annotations

import re

EXIT_BUG = 1
EXIT_DATA = 2
EXIT_CONFIG = 64  # EX_USAGE: also argparse's usage errors
EXIT_ENVIRONMENT = 74  # EX_IOERR
EXIT_CONFLICT = 75  # EX_TEMPFAIL: retryable


class CatalogMLError(Exception):
    """Root of the errors raised on purpose; ``exit_code`` is what the CLI returns and
    ``kind`` the word it prints before the message."""

    exit_code = EXIT_BUG
    kind = "error"


class DataError(CatalogMLError):
    """The input is wrong (dump, labels, review file, artifact): rerunning will not help."""

    exit_code = EXIT_DATA
    kind = "data problem"


class ReviewFileError(DataError):
    """A review sheet with bad rows; nothing of it was imported."""


class MissingEmbeddingsError(DataError):
    """Products without vectors for the encoders the model was trained on."""


class NightMissingError(DataError):
    """A night that never ran (or never got that far) on this lake."""


class LabelsError(DataError, ValueError):
    """Labels that cannot train a model: too few categories, or too few products in them."""


class ArtifactError(DataError):
    """A model artifact that is missing, altered, or does not describe a usable model."""


class ConfigError(CatalogMLError):
    """A setting, option, path or statement that cannot work; the message names it."""

    exit_code = EXIT_CONFIG
    kind = "configuration"


class LakeNotFoundError(ConfigError):
    """No catalog-ml lake where the settings point (a mistyped ``--lake``)."""


class EnvironmentFault(CatalogMLError):
    """The machine refused an operation: no space left, read-only, permission denied."""

    exit_code = EXIT_ENVIRONMENT
    kind = "environment"


class ConflictError(CatalogMLError):
    """Another writer holds the lake or committed first; the same command can be retried."""

    exit_code = EXIT_CONFLICT
    kind = "conflict, retry later"


def describe_os_error(exc: OSError, doing: str) -> EnvironmentFault:
    """An ``OSError`` from the machine as one line: what failed, where, and why."""
    where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return EnvironmentFault(f"{doing}{where}: {reason}")


_SPARK_ENVIRONMENT = ("No space left on device", "Read-only file system", "Permission denied",
                      "java.lang.OutOfMemoryError", "Disk quota exceeded")
_OWN_ERROR = re.compile(r"catalog_ml\.errors\.(\w+): (.+)")


def translate(exc: BaseException) -> CatalogMLError | None:
    """An error from below catalog-ml (the OS, Spark, delta-rs) as one of ours, where it is a
    known user-side cause; None where it is a bug to show with its traceback."""
    if isinstance(exc, CatalogMLError):
        return exc
    if isinstance(exc, OSError) and exc.errno is not None:
        return describe_os_error(exc, "the machine refused an operation on")
    kind = type(exc).__name__
    module = type(exc).__module__ or ""
    text = str(exc)
    if kind == "CommitFailedError":
        return ConflictError(f"another writer committed to the same table first ({text[:200]}); "
                             "rerun the command")
    if module.startswith(("py4j", "pyspark")):
        own = _OWN_ERROR.search(text)  # raised by our code inside a Spark worker
        if own and own.group(1) in _BY_NAME:
            return _BY_NAME[own.group(1)](own.group(2).strip())
        for needle in _SPARK_ENVIRONMENT:
            if needle in text:
                line = next((ln.strip() for ln in text.splitlines() if needle in ln), needle)
                return EnvironmentFault(f"Spark failed: {line[:300]}")
        if "JAVA_GATEWAY_EXITED" in text or "Java gateway process exited" in text:
            return EnvironmentFault("Spark's JVM did not start; check JAVA_HOME, "
                                    "spark_driver_memory and spark_conf (run with -v for Spark's "
                                    "own output)")
    if module.startswith("deltalake") and any(n in text for n in _SPARK_ENVIRONMENT):
        return EnvironmentFault(f"Delta write failed: {text.splitlines()[0][:300]}")
    return None


_BY_NAME: dict[str, type[CatalogMLError]] = {
    cls.__name__: cls for cls in (DataError, ReviewFileError, MissingEmbeddingsError,
                                  NightMissingError, ArtifactError, ConfigError,
                                  LakeNotFoundError, EnvironmentFault, ConflictError)}
