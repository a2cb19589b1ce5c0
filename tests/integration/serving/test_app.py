"""``catalog-ml serve`` as a client meets it: the real server on loopback, over HTTP.

A lake with a champion and a classified night is built from real Myntra products (in
process, on the session's Spark); the server is a subprocess stopped by PID. Checked: the
online answer equals the night's row for the same product (category, confidence within 1e-4),
with the photo by path or inline; the token; 422s naming product and field; limits; the cache;
a champion promoted while the server runs; the OpenAPI spec fuzzed with no 500.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from catalog_ml.config import load_settings
from catalog_ml.lake import Lake
from catalog_ml.query import run_query

from ..conftest import fashion_rows, write_fashion_dump
from ..servers import free_port

pytestmark = [pytest.mark.service, pytest.mark.spark, pytest.mark.slow]
LABELLED, NIGHT = dt.date(2026, 10, 1), dt.date(2026, 10, 2)
TOKEN = "serve-test-token"
BIN = Path(sys.executable).parent


class Client:
    def __init__(self, url: str, token: str | None = TOKEN) -> None:
        self.url, self.token = url, token

    def call(self, method: str, path: str, body: Any = None, token: str | None = "default",
             raw: bytes | None = None) -> tuple[int, Any]:
        token = self.token if token == "default" else token
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as reply:
                text = reply.read().decode()
                status = reply.status
        except urllib.error.HTTPError as exc:
            text, status = exc.read().decode(), exc.code
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def classify(self, products: list[dict[str, Any]], **kwargs: Any) -> tuple[int, Any]:
        return self.call("POST", "/v1/classify", {"products": products}, **kwargs)


def dump_products(folder: Path) -> list[dict[str, Any]]:
    frame = pd.read_parquet(folder / "products.parquet")
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]


@pytest.fixture(scope="module")
def world(tmp_path_factory, spark):
    from catalog_ml.pipeline.nightly import run_night
    from catalog_ml.pipeline.train import train_from_lake

    base = tmp_path_factory.mktemp("serve")
    rows = fashion_rows()
    common = rows["category"].value_counts().index[:5]
    rows = rows[rows["category"].isin(common)].groupby("category").head(30)
    rows = rows.sample(frac=1.0, random_state=5)
    write_fashion_dump(base / "labelled", rows.iloc[:120], labelled=True)
    night = write_fashion_dump(base / "night", rows.iloc[120:150], labelled=False)
    settings = load_settings(lake=str(base / "lake"), spark_master="local[2]",
                             train_epochs=20, cv_folds=2)
    run_night(settings, LABELLED, str(base / "labelled"))
    first = train_from_lake(settings)
    run_night(settings, NIGHT, str(night))
    second = train_from_lake(settings.replace(train_seed=99, promotion_margin=1.0))
    assert second["status"] == "challenger"  # kept for the hot-reload test
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_ML_")}
    env.update(CATALOG_ML_LAKE=settings.lake, CATALOG_ML_API_TOKEN=TOKEN,
               CATALOG_ML_API_IMAGE_ROOT=str(night), CATALOG_ML_API_RELOAD_S="0.5",
               CATALOG_ML_API_MAX_PRODUCTS="40", CATALOG_ML_API_MAX_REQUEST_BYTES="3000000")
    log = (base / "serve.log").open("wb")
    server = subprocess.Popen([str(BIN / "catalog-ml"), "serve", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    client = Client(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert server.poll() is None, (base / "serve.log").read_text()[-3000:]
            try:
                if client.call("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(1)
        else:
            raise AssertionError((base / "serve.log").read_text()[-3000:])
        yield {"client": client, "lake": Lake(settings.lake), "night": night, "env": env,
               "first": first["version"], "second": second["version"], "url": client.url,
               "log": base / "serve.log"}
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def nightly_rows(lake: Lake) -> dict[str, dict[str, Any]]:
    rows = run_query(lake, f"SELECT product_id, category, confidence, model_version FROM "
                           f"classifications WHERE run_date = DATE '{NIGHT}'").to_pylist()
    return {r["product_id"]: r for r in rows}


def test_online_answers_equal_the_nights_rows_for_the_same_products(world):
    night = nightly_rows(world["lake"])
    products = dump_products(world["night"])
    status, body = world["client"].classify(products)
    assert status == 200, body
    assert [r["product_id"] for r in body["results"]] == [p["product_id"] for p in products]
    for answer in body["results"]:
        expected = night[answer["product_id"]]
        assert answer["category"] == expected["category"]
        assert answer["confidence"] == pytest.approx(expected["confidence"], abs=1e-4)
        assert answer["model_version"] == expected["model_version"] == world["first"]
        assert answer["decided_by"] == "model"
        assert set(answer["modality_weights"]) == {"text", "image", "price"}


def test_a_photo_sent_inline_gives_the_nights_answer_too(world):
    night = nightly_rows(world["lake"])
    product = dump_products(world["night"])[3]
    photo = (world["night"] / product["image"]).read_bytes()
    inline = {**product, "product_id": product["product_id"],
              "image": "data:image/jpeg;base64," + base64.b64encode(photo).decode()}
    status, body = world["client"].classify([inline])
    assert status == 200, body
    answer = body["results"][0]
    assert answer["category"] == night[product["product_id"]]["category"]
    assert answer["confidence"] == pytest.approx(night[product["product_id"]]["confidence"],
                                                 abs=1e-4)


def test_requests_need_the_token(world):
    client = world["client"]
    product = [{"product_id": "p", "title": "Blue jeans"}]
    assert client.classify(product, token=None)[0] == 401
    assert client.classify(product, token="wrong")[0] == 401
    assert client.call("GET", "/metrics", token=None)[0] == 401
    assert client.call("GET", "/healthz", token=None)[0] == 200


def test_bad_products_get_a_422_naming_the_product_and_the_field(world):
    client = world["client"]
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


def test_limits_refuse_too_many_products_and_too_large_bodies(world):
    client = world["client"]
    many = [{"product_id": f"p{i}", "title": "Socks"} for i in range(41)]
    assert client.classify(many)[0] == 413
    huge = {"product_id": "big", "title": "x" * 3_100_000}
    assert client.classify([huge])[0] == 413


def test_a_repeated_product_is_a_cache_hit(world):
    client = world["client"]

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


def test_the_latest_nightly_classification_and_the_models_are_served(world):
    client = world["client"]
    some = next(iter(nightly_rows(world["lake"]).values()))
    status, body = client.call("GET", f"/v1/products/{some['product_id']}")
    assert status == 200 and body["category"] == some["category"]
    assert client.call("GET", "/v1/products/never-seen")[0] == 404
    status, body = client.call("GET", "/v1/models")
    assert status == 200 and {m["version"] for m in body["models"]} == {world["first"],
                                                                         world["second"]}


def test_a_champion_promoted_while_serving_is_picked_up_without_restart(world):
    client = world["client"]
    product = [{"product_id": "reload-1", "title": "Green sports shoes", "price": "20",
                "currency": "INR"}]
    assert client.classify(product)[1]["results"][0]["model_version"] == world["first"]
    promoted = subprocess.run([str(BIN / "catalog-ml"), "promote", world["second"]],
                              env=world["env"], capture_output=True, text=True, timeout=120)
    assert promoted.returncode == 0, promoted.stderr
    deadline = time.monotonic() + 30
    while client.call("GET", "/v1/models")[1]["serving"] != world["second"]:
        assert time.monotonic() < deadline, "the new champion was not picked up"
        client.classify(product)
        time.sleep(0.5)
    assert client.classify(product)[1]["results"][0]["model_version"] == world["second"]
    assert client.call("GET", "/readyz")[1]["model_version"] == world["second"]


def test_the_openapi_spec_fuzzed_gives_no_server_error(world):
    fuzz = subprocess.run(
        [str(BIN / "schemathesis"), "run", f"{world['url']}/openapi.json",
         "--checks", "not_a_server_error", "--max-examples", "25",
         "-H", f"Authorization: Bearer {TOKEN}", "--request-timeout", "60",
         "--no-color", "--seed", "20261201"],
        capture_output=True, text=True, timeout=600)
    assert fuzz.returncode == 0, fuzz.stdout[-4000:] + fuzz.stderr[-2000:]
    assert "Traceback" not in world["log"].read_text()


def test_an_analyst_rule_decides_online_and_at_night_alike(world):
    import re

    from catalog_ml.pipeline.nightly import run_step

    client, lake, env = world["client"], world["lake"], world["env"]
    product = dump_products(world["night"])[0]
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
