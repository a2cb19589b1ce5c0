"""A night's dump folder wherever the shop drops it: a local folder or an object-store prefix
(``s3://landing/2026-11-02/``), read through the same pyarrow filesystems as the lake.

Nothing the dump names is trusted: a photo reference is resolved inside the folder, and one
that climbs out of it (``../``, an absolute path, a link pointing elsewhere) is refused.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.fs as pafs

from catalog_ml.lake.files import is_remote, join, open_filesystem


@dataclass(frozen=True)
class DumpFolder:
    """One dump folder; ``location`` is a local path or a remote URI."""

    location: str
    storage_options: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def at(cls, location: str | Path, storage_options: Mapping[str, str] | None = None
           ) -> DumpFolder:
        text = str(location)
        if not is_remote(text):
            text = str(Path(text.removeprefix("file://")).expanduser())
        return cls(text.rstrip("/") or "/", dict(storage_options or {}))

    @property
    def is_local(self) -> bool:
        return not is_remote(self.location)

    @property
    def path(self) -> Path:
        """The local folder (only for a local dump)."""
        return Path(self.location)

    def __str__(self) -> str:
        return self.location

    def _fs(self) -> tuple[pafs.FileSystem, str]:
        return open_filesystem(self.location, self.storage_options)

    def uri(self, name: str) -> str:
        return join(self.location, name) if not self.is_local else str(self.path / name)

    def exists(self) -> bool:
        if self.is_local:
            return self.path.is_dir()
        filesystem, base = self._fs()
        kind = filesystem.get_file_info(base).type
        if kind == pafs.FileType.Directory:
            return True
        # an object store has no folders: a prefix "exists" once something lies under it
        return bool(filesystem.get_file_info(pafs.FileSelector(base, allow_not_found=True)))

    def entries(self) -> list[pafs.FileInfo]:
        """The folder's direct entries, with sizes and modification times."""
        filesystem, base = self._fs()
        return filesystem.get_file_info(pafs.FileSelector(base, allow_not_found=True))

    def has_file(self, name: str) -> bool:
        if self.is_local:
            candidate = self.path / name
            return candidate.is_file() or candidate.is_symlink()
        filesystem, base = self._fs()
        return filesystem.get_file_info(f"{base}/{name}").type == pafs.FileType.File

    def size(self, relative: str) -> int:
        filesystem, base = self._fs()
        return filesystem.get_file_info(f"{base}/{relative}").size

    def read_bytes(self, relative: str) -> bytes:
        filesystem, base = self._fs()
        with filesystem.open_input_stream(f"{base}/{relative}") as handle:
            return handle.read()

    def inside(self, reference: str) -> str | None:
        """``reference`` as a path relative to the folder; None where it leaves the folder."""
        if not reference or reference.startswith(("/", "\\")) or "\x00" in reference:
            return None
        normal = posixpath.normpath(reference.replace("\\", "/"))
        if normal == ".." or normal.startswith("../") or normal == ".":
            return None
        return normal
