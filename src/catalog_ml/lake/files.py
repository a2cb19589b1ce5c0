"""Plain files under the lake (staging, reports, artifacts, locks) through pyarrow filesystems.

One helper builds the filesystem for a URI so that every module agrees on it: a local path is
made absolute; an ``s3://`` URI takes its endpoint, region and keys from ``storage_options``
(the same keys delta-rs reads), never from the URI alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow.fs as pafs


def _option(options: Mapping[str, str], *names: str) -> str | None:
    lowered = {k.lower(): v for k, v in options.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def open_filesystem(uri: str, storage_options: Mapping[str, str] | None = None
                    ) -> tuple[pafs.FileSystem, str]:
    """The filesystem holding ``uri`` and the path of ``uri`` on it (no trailing slash)."""
    options = dict(storage_options or {})
    location = str(uri)
    if "://" not in location:
        location = str(Path(location).expanduser().resolve())
    if location.startswith("s3://") and options:
        endpoint = _option(options, "aws_endpoint_url", "endpoint_url", "aws_endpoint")
        scheme = None
        if endpoint and "://" in endpoint:
            scheme, endpoint = endpoint.split("://", 1)
        filesystem = pafs.S3FileSystem(
            access_key=_option(options, "aws_access_key_id", "access_key_id"),
            secret_key=_option(options, "aws_secret_access_key", "secret_access_key"),
            session_token=_option(options, "aws_session_token", "session_token"),
            region=_option(options, "aws_region", "region") or "us-east-1",
            endpoint_override=endpoint, scheme=scheme or "https",
            allow_bucket_creation=False)
        return filesystem, location[len("s3://"):].rstrip("/")
    filesystem, path = pafs.FileSystem.from_uri(location)
    return filesystem, path.rstrip("/")
