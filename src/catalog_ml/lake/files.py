"""Files on the lake and the landing zone (local, S3, GCS, Azure) through pyarrow filesystems.

One helper builds the filesystem for a URI so that every module agrees on it, on the driver and
on Spark executors alike: a local path is made absolute; an ``s3://`` URI takes its endpoint,
region and keys from ``storage_options`` (the same keys delta-rs reads), never from the URI
alone. Spark therefore needs no Hadoop object-store jars: its tasks read and write through
these filesystems. Credentials never appear in a message or a log line.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import pyarrow.fs as pafs

REMOTE_SCHEMES = ("s3://", "gs://", "gcs://", "abfs://", "abfss://", "az://")


def is_remote(uri: str) -> bool:
    return str(uri).lower().startswith(REMOTE_SCHEMES)


def _option(options: Mapping[str, str], *names: str) -> str | None:
    lowered = {k.lower(): v for k, v in options.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def endpoint_of(options: Mapping[str, str]) -> str | None:
    return _option(options, "aws_endpoint_url", "endpoint_url", "aws_endpoint", "endpoint")


def delta_options(options: Mapping[str, str]) -> dict[str, str]:
    """``storage_options`` as delta-rs wants them: a plain-http endpoint (a store on the same
    network, a test server) is allowed explicitly, as delta-rs refuses http by default."""
    result = dict(options)
    endpoint = endpoint_of(result)
    if endpoint and endpoint.lower().startswith("http://") and _option(
            result, "aws_allow_http", "allow_http") is None:
        result["AWS_ALLOW_HTTP"] = "true"
    return result


@functools.lru_cache(maxsize=16)
def _s3(options: tuple[tuple[str, str], ...]) -> pafs.S3FileSystem:
    settings = dict(options)
    endpoint = endpoint_of(settings)
    scheme = None
    if endpoint and "://" in endpoint:
        scheme, endpoint = endpoint.split("://", 1)
    return pafs.S3FileSystem(
        access_key=_option(settings, "aws_access_key_id", "access_key_id"),
        secret_key=_option(settings, "aws_secret_access_key", "secret_access_key"),
        session_token=_option(settings, "aws_session_token", "session_token"),
        region=_option(settings, "aws_region", "region") or "us-east-1",
        endpoint_override=endpoint.rstrip("/") if endpoint else None,
        scheme=scheme or "https", allow_bucket_creation=False,
        connect_timeout=10, request_timeout=60)


def open_filesystem(uri: str, storage_options: Mapping[str, str] | None = None
                    ) -> tuple[pafs.FileSystem, str]:
    """The filesystem holding ``uri`` and the path of ``uri`` on it (no trailing slash)."""
    options = dict(storage_options or {})
    location = str(uri)
    if "://" not in location:
        location = str(Path(location).expanduser().resolve())
    if location.startswith("s3://") and options:
        filesystem = _s3(tuple(sorted(options.items())))
        return filesystem, location[len("s3://"):].rstrip("/")
    filesystem, path = pafs.FileSystem.from_uri(location)
    return filesystem, path.rstrip("/")


def subtree(uri: str, storage_options: Mapping[str, str] | None = None) -> pafs.FileSystem:
    """A filesystem rooted at ``uri`` (what delta-rs' dataset readers take for remote tables)."""
    filesystem, path = open_filesystem(uri, storage_options)
    return pafs.SubTreeFileSystem(path, filesystem)


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
