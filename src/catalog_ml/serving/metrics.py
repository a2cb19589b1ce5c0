"""Prometheus text exposition of the server's figures, without a client library."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.latency_sum: dict[str, float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            self.latency[route][bisect.bisect_left(BUCKETS, seconds)] += 1
            self.latency_sum[route] += seconds

    def render(self, gauges: dict[str, tuple[str, float]], model_version: str | None) -> str:
        lines = ["# HELP catalog_ml_requests_total HTTP requests by route and status",
                 "# TYPE catalog_ml_requests_total counter"]
        with self._lock:
            for (method, route, status), count in sorted(self.requests.items()):
                lines.append(f'catalog_ml_requests_total{{method="{method}",route="{route}",'
                             f'status="{status}"}} {count}')
            lines += ["# HELP catalog_ml_request_seconds Request latency",
                      "# TYPE catalog_ml_request_seconds histogram"]
            for route, counts in sorted(self.latency.items()):
                total = 0
                for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
                    total += count
                    edge = "+Inf" if bound == float("inf") else repr(bound)
                    lines.append(f'catalog_ml_request_seconds_bucket{{route="{route}",'
                                 f'le="{edge}"}} {total}')
                lines.append(f'catalog_ml_request_seconds_sum{{route="{route}"}} '
                             f'{self.latency_sum[route]:.6f}')
                lines.append(f'catalog_ml_request_seconds_count{{route="{route}"}} {total}')
        for name, (help_text, value) in sorted(gauges.items()):
            kind = "counter" if name.endswith("_total") else "gauge"
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}",
                      f"{name} {value:g}"]
        lines += ["# HELP catalog_ml_model_info The champion being served",
                  "# TYPE catalog_ml_model_info gauge",
                  f'catalog_ml_model_info{{version="{model_version or ""}"}} '
                  f"{1 if model_version else 0}"]
        return "\n".join(lines) + "\n"
