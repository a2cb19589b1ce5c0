"""The REST API: ``catalog-ml serve``. Routes, authentication, limits and error shapes.

- ``POST /v1/classify``: 1 to ``api_max_products`` products in the dump's shape; one answer per
  product in order, or a 422 naming each bad product and field by the night's rules.
- ``GET /v1/products/{product_id}``: the latest nightly classification from the lake.
- ``GET /v1/models``, ``GET /healthz`` (the process is up), ``GET /readyz`` (a champion and
  the encoders are loaded), ``GET /metrics`` (Prometheus).

With ``api_token`` set, every ``/v1`` route and ``/metrics`` need ``Authorization: Bearer``;
without one the server answers loopback clients only (and ``serve`` refuses another host).
Errors carry a message for the caller and never a path or a stack trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from catalog_ml.config import Settings
from catalog_ml.serving.batcher import MicroBatcher
from catalog_ml.serving.classifier import NotReadyError, OnlineClassifier
from catalog_ml.serving.metrics import Metrics
from catalog_ml.serving.products import ValidatedRecords, check_request, unicode_problems
from catalog_ml.validation.dump import DumpError

log = logging.getLogger(__name__)
DRAIN_LIMIT = 64 * 1024 * 1024  # larger bodies are refused without reading them


class Product(BaseModel):
    """A product as a dump row holds it; keys beyond these are kept as attributes."""

    model_config = ConfigDict(extra="allow")
    product_id: str | None = Field(default=None, examples=["sku-123"])
    title: str | None = Field(default=None, examples=["Red cotton t-shirt"])
    description: str | None = None
    brand: str | None = None
    price: float | str | None = Field(default=None, examples=[19.9])
    currency: str | None = Field(default=None, examples=["EUR"])
    image: str | None = Field(default=None, description="data:image/...;base64, URI, an "
                              "allowed http(s) URL, or a path under api_image_root")


class ClassifyRequest(BaseModel):
    products: list[Product] = Field(min_length=1)


class Alternative(BaseModel):
    category: str
    confidence: float


class Answer(BaseModel):
    product_id: str
    category: str
    confidence: float
    top_k: list[Alternative]
    needs_review: bool
    modality_weights: dict[str, float]
    decided_by: str
    model_version: str


class ClassifyResponse(BaseModel):
    results: list[Answer]


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "testclient")


class BodyLimit:
    """Refuses a request body above ``limit`` bytes (413) before it is all read."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            if int(declared) <= DRAIN_LIMIT:  # read and drop it, so the client sees the 413
                while (await receive()).get("more_body"):
                    pass
            await _too_large(send, self.limit)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _BodyTooLarge:
            await _too_large(send, self.limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Any, limit: int) -> None:
    body = (b'{"detail":"request body above api_max_request_bytes (' + str(limit).encode()
            + b' bytes)"}')
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings) -> FastAPI:
    classifier = OnlineClassifier(settings)
    metrics = Metrics()
    batcher = MicroBatcher(classifier.classify, settings.api_batch_wait_ms,
                           settings.api_max_products)
    validation = ThreadPoolExecutor(max_workers=2, thread_name_prefix="catalog-ml-validate")
    state: dict[str, Any] = {"encoders": False}
    checked_before = ValidatedRecords(settings.api_cache_size)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(batcher.thread, classifier.encoders)  # load before serving
        warm = await loop.run_in_executor(  # builds the validation suite once, before serving
            validation, check_request, [{"product_id": "warm-up", "title": "warm up"}],
            settings, ())
        warm.close()
        state["encoders"] = True
        with contextlib.suppress(NotReadyError):
            await loop.run_in_executor(batcher.thread, classifier.refresh, True)
        yield
        await batcher.stop()
        validation.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="catalog-ml", version="1", lifespan=lifespan,
                  description="Classify products with the nightly champion, online.")

    def authorised(request: Request) -> None:
        if settings.api_token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {settings.api_token}".encode()):
                raise HTTPException(401, "a valid 'Authorization: Bearer <api_token>' header "
                                         "is required", {"WWW-Authenticate": "Bearer"})
        elif not _is_loopback(request.client.host if request.client else None):
            raise HTTPException(403, "no api_token is configured: loopback clients only")

    @app.middleware("http")
    async def observe(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:  # a bug: logged with its id, answered without details
            incident = uuid.uuid4().hex[:12]
            log.exception("request failed (incident %s)", incident)
            response = JSONResponse({"detail": f"internal error (incident {incident})"}, 500)
        route = request.scope.get("route")
        metrics.observe(request.method, getattr(route, "path", "unmatched"),
                        response.status_code, time.perf_counter() - started)
        return response

    @app.exception_handler(NotReadyError)
    async def not_ready(_: Request, exc: NotReadyError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 503)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [{"loc": list(e.get("loc", ())), "msg": e.get("msg"),
                                         "type": e.get("type")} for e in exc.errors()]}, 422)

    @app.post("/v1/classify", response_model=ClassifyResponse,
              dependencies=[Depends(authorised)],
              responses={401: {}, 403: {}, 413: {}, 422: {}, 503: {}})
    async def classify(body: ClassifyRequest) -> dict[str, Any]:
        if len(body.products) > settings.api_max_products:
            raise HTTPException(413, f"{len(body.products)} products; at most "
                                     f"{settings.api_max_products} per request "
                                     "(setting api_max_products)")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(batcher.thread, classifier.refresh)
        products = [p.model_dump() for p in body.products]
        if unstorable := unicode_problems(products):
            raise HTTPException(422, unstorable)
        known = checked_before.lookup(products, classifier.model_version)
        if known is not None:  # text-only products validated before: same record, same verdict
            return {"results": await batcher.submit(known)}
        try:
            checked = await loop.run_in_executor(validation, check_request, products, settings,
                                                 classifier.taxonomy)
        except DumpError as exc:  # a gate: e.g. no product has a title
            raise HTTPException(422, [{"product": None, "field": None,
                                       "reason": str(exc).removeprefix("request: ")}]) from None
        try:
            rejected = checked.outcome.rejected
            if len(rejected):
                raise HTTPException(422, [
                    {"product": int(row.source_row) - 1, "product_id": row.product_id,
                     "field": reason.split(":", 1)[0], "reason": reason}
                    for row in rejected.itertuples() for reason in row.reasons])
            accepted = checked.outcome.accepted
            checked_before.remember(products, accepted, classifier.model_version)
            answers = await batcher.submit(accepted)
        finally:
            checked.close()
        return {"results": answers}

    @app.get("/v1/products/{product_id}", dependencies=[Depends(authorised)],
             responses={401: {}, 403: {}, 404: {}})
    async def product(product_id: str) -> dict[str, Any]:
        found = await asyncio.get_running_loop().run_in_executor(
            validation, classifier.latest_classification, product_id)
        if found is None:
            raise HTTPException(404, "no nightly classification for this product")
        return found

    @app.get("/v1/models", dependencies=[Depends(authorised)], responses={401: {}, 403: {}})
    async def models() -> dict[str, Any]:
        rows = await asyncio.get_running_loop().run_in_executor(validation, classifier.models)
        return {"serving": classifier.model_version, "models": rows}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {}})
    async def readyz() -> JSONResponse:
        try:
            await asyncio.get_running_loop().run_in_executor(batcher.thread,
                                                             classifier.refresh)
        except NotReadyError as exc:
            return JSONResponse({"status": "not ready", "detail": str(exc)}, 503)
        if not state["encoders"]:
            return JSONResponse({"status": "not ready", "detail": "loading encoders"}, 503)
        return JSONResponse({"status": "ready", "model_version": classifier.model_version})

    @app.get("/metrics", response_class=PlainTextResponse,
             dependencies=[Depends(authorised)], responses={401: {}, 403: {}})
    async def prometheus() -> str:
        counters = classifier.counters
        return metrics.render({
            "catalog_ml_cache_hits_total": ("Answers served from the cache",
                                            counters.cache_hits),
            "catalog_ml_cache_misses_total": ("Answers computed", counters.cache_misses),
            "catalog_ml_vectors_reused_total": ("Vectors taken from the night's embeddings",
                                                counters.vectors_reused),
            "catalog_ml_vectors_computed_total": ("Vectors computed online",
                                                  counters.vectors_computed),
            "catalog_ml_products_classified_total": ("Products answered",
                                                     counters.products_classified),
            "catalog_ml_model_reloads_total": ("Champions picked up without a restart",
                                               counters.reloads),
            "catalog_ml_batches_total": ("Model batches run", batcher.batches),
        }, classifier.model_version)

    return BodyLimit(app, settings.api_max_request_bytes)  # type: ignore[return-value]
