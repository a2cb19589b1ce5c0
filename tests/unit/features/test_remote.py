"""Fetching photos named by a dump: allowed hosts only, public addresses only, bounded.

A real HTTP server on 127.0.0.1 plays the hostile image host (slow, huge, redirecting to the
metadata address); it counts the requests it got, so "no request was made" is checked.
"""

from __future__ import annotations

import http.server
import threading
import time
import typing
from collections.abc import Iterator

import pytest

from catalog_ml.features.remote import FetchPolicy, FetchRefused, fetch, url_problem

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 100


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: typing.ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Handler.hits.append(self.path)
        if self.path == "/ok.png":
            self._send(200, PNG)
        elif self.path == "/huge.png":
            self.send_response(200)
            self.end_headers()  # no Content-Length: the cap must hold while streaming
            for _ in range(100):
                self.wfile.write(b"0" * 65536)
        elif self.path == "/declared-huge.png":
            self.send_response(200)
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
        elif self.path == "/drip.png":
            self.send_response(200)
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b"0")
                self.wfile.flush()
                time.sleep(0.2)
        elif self.path == "/to-metadata":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
        else:
            self._send(404, b"")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.hits = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


LOCAL = FetchPolicy(allow_private_networks=True, timeout_s=2.0, max_bytes=1_000_000)


@pytest.mark.parametrize(("url", "problem"), [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://127.0.0.1:8080/x.png", "loopback"),
    ("http://10.1.2.3/x.png", "private"),
    ("http://[::1]/x.png", "loopback"),
    ("http://[::ffff:127.0.0.1]/x.png", "loopback"),
    ("http://localhost/x.png", "loopback"),
    ("http://user:secret@cdn.example.com/x.png", "credentials"),
    ("ftp://cdn.example.com/x.png", "scheme 'ftp'"),
    ("http:///x.png", "no host"),
    ("http://cdn.example.com:99999/x.png", "not a valid URL"),
])
def test_urls_that_must_never_be_fetched(url, problem):
    assert problem in (url_problem(url, FetchPolicy()) or "")


def test_allowed_hosts_are_names_or_subdomain_patterns():
    policy = FetchPolicy(allowed_hosts=("*.shop.example", "images.cdn.example"))
    assert url_problem("https://img.shop.example/a.jpg", policy) is None
    assert url_problem("https://images.cdn.example/a.jpg", policy) is None
    assert "not in image_allowed_hosts" in url_problem("https://evil.example/a.jpg", policy)
    assert "not in image_allowed_hosts" in url_problem("https://shop.example.evil/a", policy)


def test_a_loopback_host_is_not_contacted_unless_allowed(server):
    with pytest.raises(FetchRefused, match="loopback"):
        fetch(f"{server}/ok.png", FetchPolicy())
    assert _Handler.hits == []
    assert fetch(f"{server}/ok.png", LOCAL) == PNG


def test_each_redirect_hop_is_checked_before_it_is_followed(server):
    # the test server itself is on loopback, so private networks are allowed here; the hop
    # to the metadata address is refused by the host list before any connection to it
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), allow_private_networks=True,
                         timeout_s=2.0)
    with pytest.raises(FetchRefused, match=r"host 169\.254\.169\.254 is not in image_allowed"):
        fetch(f"{server}/to-metadata", policy)
    assert _Handler.hits == ["/to-metadata"]


def test_a_body_above_the_cap_is_cut_off(server):
    with pytest.raises(FetchRefused, match="max_image_bytes"):
        fetch(f"{server}/huge.png", LOCAL)
    with pytest.raises(FetchRefused, match="1,000,000,000 bytes"):
        fetch(f"{server}/declared-huge.png", LOCAL)


def test_a_server_that_drips_is_stopped_at_the_total_deadline(server):
    started = time.monotonic()
    with pytest.raises(FetchRefused, match="within 1 s"):
        fetch(f"{server}/drip.png", FetchPolicy(allow_private_networks=True, timeout_s=1.0))
    assert time.monotonic() - started < 3.0  # not 30 reads x their own timeout


def test_http_errors_are_refusals_with_the_status(server):
    with pytest.raises(FetchRefused, match="HTTP 404"):
        fetch(f"{server}/missing.png", LOCAL)
