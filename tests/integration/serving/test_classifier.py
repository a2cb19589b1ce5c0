"""catalog_ml.serving.classifier via the real server: its cache and the champion's hot reload."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.integration.serving.served import BIN

pytestmark = [pytest.mark.service, pytest.mark.spark, pytest.mark.slow]


def test_a_repeated_product_is_a_cache_hit(served):
    client = served["client"]

    def hits() -> float:
        text = client.call("GET", "/metrics")[1]
        line = next(ln for ln in text.splitlines()
                    if ln.startswith("catalog_ml_cache_hits_total"))
        return float(line.split()[-1])

    product = [{"product_id": "cache-1", "title": "Brown leather wallet", "brand": "Acme"}]
    first = client.classify(product)
    before = hits()
    second = client.classify(product)
    assert first == second and first[0] == 200
    assert hits() == before + 1


def test_a_champion_promoted_while_serving_is_picked_up_without_restart(served):
    client = served["client"]
    product = [{"product_id": "reload-1", "title": "Green sports shoes", "price": "20",
                "currency": "INR"}]
    assert client.classify(product)[1]["results"][0]["model_version"] == served["first"]
    promoted = subprocess.run([str(BIN / "catalog-ml"), "promote", served["second"]],
                              env=served["env"], capture_output=True, text=True, timeout=120)
    assert promoted.returncode == 0, promoted.stderr
    deadline = time.monotonic() + 30
    while client.call("GET", "/v1/models")[1]["serving"] != served["second"]:
        assert time.monotonic() < deadline, "the new champion was not picked up"
        client.classify(product)
        time.sleep(0.5)
    assert client.classify(product)[1]["results"][0]["model_version"] == served["second"]
    assert client.call("GET", "/readyz")[1]["model_version"] == served["second"]
