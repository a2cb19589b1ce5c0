"""``catalog-ml serve`` as a client meets it: the real server on loopback, over HTTP.

A lake with a champion and a classified night is built from real Myntra products (in
process, on the session's Spark); the server is a subprocess stopped by PID. Checked: the
online answer equals the night's row for the same product (category, confidence within 1e-4),
with the photo by path or inline; the token; 422s naming product and field; limits; the
OpenAPI spec fuzzed with no 500. The served world is in this folder's conftest.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time

import pytest

from catalog_ml.config import load_settings
from catalog_ml.lake.query import run_query
from tests.integration.serving.served import BIN, NIGHT, TOKEN, dump_products, nightly_rows

pytestmark = [pytest.mark.service, pytest.mark.spark, pytest.mark.slow]



def test_online_answers_equal_the_nights_rows_for_the_same_products(served):
    night = nightly_rows(served["lake"])
    products = dump_products(served["night"])
    status, body = served["client"].classify(products)
    assert status == 200, body
    assert [r["product_id"] for r in body["results"]] == [p["product_id"] for p in products]
    for answer in body["results"]:
        expected = night[answer["product_id"]]
        assert answer["category"] == expected["category"]
        assert answer["confidence"] == pytest.approx(expected["confidence"], abs=1e-4)
        assert answer["model_version"] == expected["model_version"] == served["first"]
        assert answer["decided_by"] == "model"
        assert set(answer["modality_weights"]) == {"text", "image", "price"}


def test_a_photo_sent_inline_gives_the_nights_answer_too(served):
    night = nightly_rows(served["lake"])
    product = dump_products(served["night"])[3]
    photo = (served["night"] / product["image"]).read_bytes()
    inline = {**product, "product_id": product["product_id"],
              "image": "data:image/jpeg;base64," + base64.b64encode(photo).decode()}
    status, body = served["client"].classify([inline])
    assert status == 200, body
    answer = body["results"][0]
    assert answer["category"] == night[product["product_id"]]["category"]
    assert answer["confidence"] == pytest.approx(night[product["product_id"]]["confidence"],
                                                 abs=1e-4)


def test_requests_need_the_token(served):
    client = served["client"]
    product = [{"product_id": "p", "title": "Blue jeans"}]
    assert client.classify(product, token=None)[0] == 401
    assert client.classify(product, token="wrong")[0] == 401
    assert client.call("GET", "/metrics", token=None)[0] == 401
    assert client.call("GET", "/healthz", token=None)[0] == 200


def test_bad_products_get_a_422_naming_the_product_and_the_field(served):
    client = served["client"]
    good = {"product_id": "ok-1", "title": "Black leather belt"}
    status, body = client.classify([
        good, {"product_id": "bad-1", "title": ""},
        {"product_id": "bad-2", "title": "Watch", "price": "12,5", "currency": "EUR"},
        {"product_id": "bad-3", "title": "Bag", "image": "../../etc/passwd"},
        {"product_id": "bad-4", "title": "Cap", "image": "http://127.0.0.1:9/cap.jpg"},
        {"product_id": "bad-5", "title": "Shoe", "image": "data:image/png;base64,!!!"}])
    assert status == 422, body
    named = {(d["product"], d["product_id"], d["field"]) for d in body["detail"]}
    assert named == {(1, "bad-1", "title"), (2, "bad-2", "price"), (3, "bad-3", "image"),
                     (4, "bad-4", "image"), (5, "bad-5", "image")}
    reasons = " ".join(d["reason"] for d in body["detail"])
    assert "private" in reasons or "loopback" in reasons
    assert "/tmp" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    status, body = client.classify([{"product_id": "x", "title": "A"}, {"product_id": "x",
                                                                        "title": "B"}])
    assert status == 422 and {d["field"] for d in body["detail"]} == {"product_id"}
    assert client.call("POST", "/v1/classify", {"products": []})[0] == 422
    assert client.call("POST", "/v1/classify", raw=b"{not json")[0] == 422
    status, body = client.classify([good, {"product_id": "u-1", "title": "half \ud800 pair"},
                                    {"product_id": "u-2", "title": "Hat",
                                     "extra": {"k": ["\udce9"]}}])  # was a 500
    assert status == 422, body
    assert {(d["product"], d["field"]) for d in body["detail"]} == {(1, "title"), (2, "k")}


def test_limits_refuse_too_many_products_and_too_large_bodies(served):
    client = served["client"]
    many = [{"product_id": f"p{i}", "title": "Socks"} for i in range(41)]
    assert client.classify(many)[0] == 413
    huge = {"product_id": "big", "title": "x" * 3_100_000}
    assert client.classify([huge])[0] == 413


def test_the_latest_nightly_classification_and_the_models_are_served(served):
    client = served["client"]
    some = next(iter(nightly_rows(served["lake"]).values()))
    status, body = client.call("GET", f"/v1/products/{some['product_id']}")
    assert status == 200 and body["category"] == some["category"]
    assert client.call("GET", "/v1/products/never-seen")[0] == 404
    status, body = client.call("GET", "/v1/models")
    assert status == 200 and {m["version"] for m in body["models"]} == {served["first"],
                                                                         served["second"]}


def test_the_openapi_spec_fuzzed_gives_no_server_error(served):
    fuzz = subprocess.run(
        [str(BIN / "schemathesis"), "run", f"{served['url']}/openapi.json",
         "--checks", "not_a_server_error", "--max-examples", "25",
         "-H", f"Authorization: Bearer {TOKEN}", "--request-timeout", "60",
         "--no-color", "--seed", "20261201"],
        capture_output=True, text=True, timeout=600)
    assert fuzz.returncode == 0, fuzz.stdout[-4000:] + fuzz.stderr[-2000:]
    assert "Traceback" not in served["log"].read_text()


def test_an_analyst_rule_decides_online_and_at_night_alike(served):
    import re

    from catalog_ml.pipeline.nightly import run_step

    client, lake, env = served["client"], served["lake"], served["env"]
    product = dump_products(served["night"])[0]
    night = nightly_rows(lake)
    other = next(c for c in sorted({r["category"] for r in night.values()})
                 if c != night[product["product_id"]]["category"])
    added = subprocess.run(
        [str(BIN / "catalog-ml"), "rules", "add", "--pattern", f"^{re.escape(product['title'])}$",
         "--category", other, "--priority", "3", "--author", "test"],
        env=env, capture_output=True, text=True, timeout=120)
    assert added.returncode == 0, added.stderr
    rule_id = json.loads(added.stdout)["rule_id"]
    try:
        deadline = time.monotonic() + 30
        while True:  # the server picks the rule up within api_reload_s
            answer = client.classify([product])[1]["results"][0]
            if answer["decided_by"] == rule_id or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert (answer["decided_by"], answer["category"], answer["confidence"]) == (
            rule_id, other, 1.0)
        assert answer["needs_review"] is False
        settings = load_settings(lake=lake.root, spark_master="local[2]")
        run_step("classify", settings, NIGHT)
        rows = nightly_rows(lake)
        decided = run_query(lake, f"SELECT product_id, decided_by FROM classifications "
                                  f"WHERE run_date = DATE '{NIGHT}'").to_pylist()
        by_rule = {r["product_id"] for r in decided if r["decided_by"] == rule_id}
        assert by_rule == {product["product_id"]}
        assert rows[product["product_id"]]["category"] == other
        assert {r["decided_by"] for r in decided} == {rule_id, "model"}
    finally:
        subprocess.run([str(BIN / "catalog-ml"), "rules", "remove", rule_id], env=env,
                       capture_output=True, timeout=120)
