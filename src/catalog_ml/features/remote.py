"""Fetching a photo named by the dump, without trusting the dump.

A URL in a dump is somebody else's input: it may point at the cloud metadata address, a
service on loopback, or a server that drips one byte a second or sends 300 MB. So a photo is
fetched only from an allowed host (setting ``image_allowed_hosts``), only when every address
the name resolves to is public (unless ``image_allow_private_networks``), over a connection
pinned to the address that was checked (no second DNS answer), within one total deadline and
a byte cap. Redirects are followed a few times, each checked the same way.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from catalog_ml.config import Settings

MAX_REDIRECTS = 3
CHUNK = 64 * 1024
WEB_SCHEMES = ("http", "https")


class FetchRefused(Exception):
    """The URL is not allowed, or the answer broke a limit; the message says which."""


@dataclass(frozen=True)
class FetchPolicy:
    allowed_hosts: tuple[str, ...] = ("*",)
    allow_private_networks: bool = False
    timeout_s: float = 10.0
    max_bytes: int = 20_000_000

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for pattern in self.allowed_hosts:
            pattern = pattern.lower()
            if pattern == "*" or pattern == host:
                return True
            if pattern.startswith("*.") and host.endswith(pattern[1:]):
                return True
        return False


DEFAULT_POLICY = FetchPolicy()


@dataclass(frozen=True)
class ImageLimits:
    """What a photo may cost: decoded pixels, and the fetch (whose byte cap holds on disk too)."""

    max_pixels: int = 50_000_000
    fetch: FetchPolicy = DEFAULT_POLICY

    @property
    def max_bytes(self) -> int:
        return self.fetch.max_bytes

    @classmethod
    def build(cls, max_bytes: int, max_pixels: int, allowed_hosts: Iterable[str],
              allow_private_networks: bool, timeout_s: float) -> ImageLimits:
        """From the photo settings (``max_image_bytes``, ``max_image_pixels``, ``image_*``)."""
        return cls(max_pixels=max_pixels,
                   fetch=FetchPolicy(tuple(allowed_hosts), allow_private_networks, timeout_s,
                                     max_bytes))

    @classmethod
    def from_settings(cls, settings: Settings) -> ImageLimits:
        return cls.build(settings.max_image_bytes, settings.max_image_pixels,
                         settings.image_allowed_hosts, settings.image_allow_private_networks,
                         settings.image_fetch_timeout_s)


DEFAULT_LIMITS = ImageLimits()


class PhotoTooLarge(ValueError):
    """A photo above the byte or pixel limit; the message gives the figure and the limit."""


def open_photo(payload: bytes, max_pixels: int) -> Any:
    """The photo opened (header read, pixels not decoded) within the pixel limit.

    PIL refuses by itself above twice its own limit (a decompression bomb); both cases
    become PhotoTooLarge with the declared size."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(payload))
    except Image.DecompressionBombError as exc:
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        count = f"{int(declared.group(1)):,}" if declared else "too many"
        raise PhotoTooLarge(f"declares {count} pixels, above max_image_pixels "
                            f"{max_pixels:,} (setting max_image_pixels)") from None
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise PhotoTooLarge(f"{width} x {height} pixels, above max_image_pixels "
                            f"{max_pixels:,} (setting max_image_pixels)")
    return image


def _address_problem(address: str, allow_private: bool) -> str | None:
    """Why an address may not be contacted, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified:
        return f"{ip} is not a unicast address"
    if allow_private or ip.is_global:
        return None
    kind = ("loopback" if ip.is_loopback else "link-local" if ip.is_link_local
            else "private" if ip.is_private else "reserved")
    return (f"{ip} is a {kind} address (set image_allow_private_networks to allow such "
            "addresses)")


def url_problem(url: str, policy: FetchPolicy) -> str | None:
    """What is wrong with a photo URL before any request: scheme, credentials, host, literal
    address. None when it may be fetched (the resolved address is checked at fetch time)."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme.lower() not in WEB_SCHEMES:
        return f"scheme {parts.scheme!r} is not fetched (http, https)"
    if parts.username is not None or parts.password is not None:
        return "URLs with credentials are not fetched"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return "the URL has no host"
    loopback_name = host == "localhost" or host.endswith(".localhost")
    if loopback_name and not policy.allow_private_networks:
        return f"host {host} is loopback (set image_allow_private_networks to allow it)"
    if not policy.host_allowed(host):
        return f"host {host} is not in image_allowed_hosts"
    try:
        return _address_problem(host, policy.allow_private_networks)
    except ValueError:
        return None  # a name, checked once resolved


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def _resolve(host: str, port: int, policy: FetchPolicy) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchRefused(f"cannot resolve {host}: {exc.strerror}") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    for address in addresses:
        problem = _address_problem(address, policy.allow_private_networks)
        if problem:
            raise FetchRefused(f"{host} resolves to {problem}")
    return addresses[0]


def fetch(url: str, policy: FetchPolicy) -> bytes:
    """The body of ``url`` within the policy's limits, or FetchRefused / OSError."""
    deadline = time.monotonic() + policy.timeout_s

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FetchRefused(f"no complete answer within {policy.timeout_s:g} s "
                               "(setting image_fetch_timeout_s)")
        return left

    for _ in range(MAX_REDIRECTS + 1):
        problem = url_problem(url, policy)
        if problem:
            raise FetchRefused(problem)
        parts = urlsplit(url)
        https = parts.scheme.lower() == "https"
        port = parts.port or (443 if https else 80)
        address = _resolve(parts.hostname or "", port, policy)
        kind = _PinnedHTTPS if https else _PinnedHTTP
        connection = kind(parts.hostname or "", port, address, remaining())
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("GET", path, headers={"User-Agent": "catalog-ml",
                                                     "Accept": "image/*"})
            if connection.sock is not None:
                connection.sock.settimeout(remaining())
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise FetchRefused(f"HTTP {response.status} without a Location")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise FetchRefused(f"HTTP {response.status}")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                raise FetchRefused(f"{int(declared):,} bytes, above max_image_bytes "
                                   f"{policy.max_bytes:,}")
            return _read_capped(connection, response, policy, remaining)
        finally:
            connection.close()
    raise FetchRefused(f"more than {MAX_REDIRECTS} redirects")


def _read_capped(connection: http.client.HTTPConnection, response: http.client.HTTPResponse,
                 policy: FetchPolicy, remaining: Callable[[], float]) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        left = remaining()
        if connection.sock is not None:
            connection.sock.settimeout(left)
        chunk = response.read1(CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > policy.max_bytes:
            raise FetchRefused(f"more than max_image_bytes {policy.max_bytes:,} bytes")
        chunks.append(chunk)
