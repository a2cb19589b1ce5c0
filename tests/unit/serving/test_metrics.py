"""catalog_ml.serving.metrics: Prometheus text a scraper can parse."""

from __future__ import annotations

from catalog_ml.serving.metrics import Metrics


def test_requests_and_latency_are_counted_per_route_in_cumulative_buckets():
    metrics = Metrics()
    metrics.observe("POST", "/v1/classify", 200, 0.02)
    metrics.observe("POST", "/v1/classify", 200, 0.3)
    metrics.observe("POST", "/v1/classify", 422, 0.001)
    text = metrics.render({"catalog_ml_cache_hits_total": ("cache hits", 4.0)}, "v7")
    lines = text.splitlines()
    assert 'catalog_ml_requests_total{method="POST",route="/v1/classify",status="200"} 2' in lines
    assert 'catalog_ml_request_seconds_bucket{route="/v1/classify",le="0.025"} 2' in lines
    assert 'catalog_ml_request_seconds_bucket{route="/v1/classify",le="+Inf"} 3' in lines
    assert 'catalog_ml_request_seconds_count{route="/v1/classify"} 3' in lines
    assert "# TYPE catalog_ml_cache_hits_total counter" in lines
    assert "catalog_ml_cache_hits_total 4" in lines
    assert 'catalog_ml_model_info{version="v7"} 1' in lines and text.endswith("\n")


def test_without_a_model_the_info_gauge_is_zero():
    assert 'catalog_ml_model_info{version=""} 0' in Metrics().render({}, None)
