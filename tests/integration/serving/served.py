"""Talking to a served catalog-ml over HTTP, and what the night wrote for comparison."""

from __future__ import annotations

import datetime as dt
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd

from catalog_ml.lake import Lake
from catalog_ml.lake.query import run_query

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




def nightly_rows(lake: Lake) -> dict[str, dict[str, Any]]:
    rows = run_query(lake, f"SELECT product_id, category, confidence, model_version FROM "
                           f"classifications WHERE run_date = DATE '{NIGHT}'").to_pylist()
    return {r["product_id"]: r for r in rows}


