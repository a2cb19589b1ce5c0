"""The online classifier: the night's champion, encoders and prediction code, kept loaded.

A product goes through what a night does to it: the same validation, the same typed record and
content hash, the same text and photo encoders, the same ``classification_columns``. So the
same product gets the same category and confidence online as in the morning's table. Vectors
the night already stored for a (product, content hash) are reused; answers are cached by
content hash, encoder version and model version; a champion promoted while the server runs is
picked up at the next batch after ``api_reload_s``.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from catalog_ml.config import Settings
from catalog_ml.errors import ConfigError
from catalog_ml.lake import Lake

log = logging.getLogger(__name__)


class NotReadyError(ConfigError):
    """No champion to serve yet, or one the server's encoders cannot feed."""


@dataclass
class Counters:
    cache_hits: int = 0
    cache_misses: int = 0
    vectors_reused: int = 0
    vectors_computed: int = 0
    products_classified: int = 0
    reloads: int = 0


@dataclass
class Served:
    version: str
    model: Any
    threshold: float
    rules: Any = None  # the RuleBook in force
    rules_key: str = ""  # which rules: part of every cached answer's key
    loaded_at: float = field(default_factory=time.time)


class OnlineClassifier:
    def __init__(self, settings: Settings) -> None:
        from catalog_ml.features.encoders import EncoderSpec

        self.settings = settings
        self.lake = Lake.from_settings(settings)
        self.spec = EncoderSpec.from_settings(settings).check()
        self.counters = Counters()
        self._served: Served | None = None
        self._checked_at = 0.0
        self._cache: collections.OrderedDict[tuple[str, str, str], dict[str, Any]] = (
            collections.OrderedDict())
        self._lock = threading.Lock()
        self._encoders: Any = None
        self._taxonomy: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ state
    @property
    def model_version(self) -> str | None:
        return self._served.version if self._served else None

    @property
    def taxonomy(self) -> frozenset[str]:
        return self._taxonomy

    def encoders(self) -> Any:
        from catalog_ml.features.encoders import cached_encoders

        if self._encoders is None:
            self._encoders = cached_encoders(self.spec, self.lake.storage_options or None)
        return self._encoders

    def refresh(self, force: bool = False) -> Served:
        """The champion to serve: the registry is asked at most every ``api_reload_s``."""
        from catalog_ml.models.registry import champion
        from catalog_ml.models.rules import RuleBook, load_rules
        from catalog_ml.pipeline.labels import known_categories

        now = time.monotonic()
        if not force and self._served and now - self._checked_at < self.settings.api_reload_s:
            return self._served
        with self._lock:
            self._checked_at = now
            if not self.lake.initialised():
                raise NotReadyError("no catalog-ml lake at the configured location yet")
            current = champion(self.lake)
            if current is None:
                raise NotReadyError("no champion model registered yet; run `catalog-ml train`")
            rules = load_rules(self.lake)
            rules_key = ",".join(r.rule_id for r in rules)
            if self._served and self._served.version == current.version:
                if rules_key != self._served.rules_key:
                    self._served.rules, self._served.rules_key = RuleBook(rules), rules_key
                return self._served
            if current.encoder_version != self.spec.version:
                raise NotReadyError(
                    f"the champion {current.version} was trained on encoders "
                    f"{current.encoder_version}; this server's settings give {self.spec.version}")
            model = current.load(self.lake)  # verified against its recorded checksum
            cut = model.review_threshold if self.settings.review_threshold < 0 else (
                self.settings.review_threshold)
            previous = self.model_version
            self._served = Served(current.version, model, cut, RuleBook(rules), rules_key)
            self._taxonomy = frozenset(known_categories(self.lake))
            self.counters.reloads += previous is not None
            log.info("serving model %s (was %s)", current.version, previous)
            return self._served

    # ------------------------------------------------------------------ classification
    def classify(self, accepted: pd.DataFrame) -> list[dict[str, Any]]:
        """One answer per accepted row (typed product records with a content hash), in order."""
        from catalog_ml.pipeline.classify import classification_columns

        served = self.refresh()
        keys = [(h, self.spec.version, f"{served.version}|{served.rules_key}")
                for h in accepted["content_hash"]]
        answers: list[dict[str, Any] | None] = [self._cached(k) for k in keys]
        todo = [i for i, a in enumerate(answers) if a is None]
        self.counters.cache_hits += len(keys) - len(todo)
        self.counters.cache_misses += len(todo)
        if todo:
            frame = self._with_vectors(accepted.iloc[todo].reset_index(drop=True))
            columns = classification_columns(served.model, frame, served.version,
                                             served.threshold, self.settings.top_k,
                                             dt.datetime.now(dt.UTC).date(), served.rules)
            for position, index in enumerate(todo):
                answer = {
                    "product_id": columns["product_id"][position],
                    "category": columns["category"][position],
                    "confidence": columns["confidence"][position],
                    "top_k": columns["top_k"][position],
                    "needs_review": columns["needs_review"][position],
                    "modality_weights": columns["modality_weights"][position],
                    "decided_by": columns["decided_by"][position],
                    "model_version": served.version,
                    "content_hash": columns["content_hash"][position],
                }
                answers[index] = answer
                self._remember(keys[index], answer)
        self.counters.products_classified += len(keys)
        result = []
        for row, found in zip(accepted.itertuples(), answers, strict=True):
            assert found is not None
            result.append({**found, "product_id": row.product_id})
        return result

    def _cached(self, key: tuple[str, str, str]) -> dict[str, Any] | None:
        with self._lock:
            answer = self._cache.get(key)
            if answer is not None:
                self._cache.move_to_end(key)
            return answer

    def _remember(self, key: tuple[str, str, str], answer: dict[str, Any]) -> None:
        if self.settings.api_cache_size <= 0:
            return
        with self._lock:
            self._cache[key] = answer
            while len(self._cache) > self.settings.api_cache_size:
                self._cache.popitem(last=False)

    def _with_vectors(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` with text and image vectors: the night's where it stored them, else
        computed by the same encoders."""
        from catalog_ml.features.text import product_text

        stored = self._stored_vectors(rows)
        text: list[Any] = []
        image: list[Any] = []
        missing = []
        for i, row in enumerate(rows.itertuples()):
            found = stored.get((row.product_id, row.content_hash))
            if found is None:
                missing.append(i)
                text.append(None)
                image.append(None)
            else:
                text.append(found[0])
                image.append(found[1])
        self.counters.vectors_reused += len(rows) - len(missing)
        self.counters.vectors_computed += len(missing)
        if missing:
            subset = rows.iloc[missing]
            encoders = self.encoders()
            texts = [product_text(_text(r.title), _text(r.brand), _text(r.description))
                     for r in subset.itertuples()]
            uris = [u if isinstance(u, str) else None for u in subset["image_uri"]]
            images, _statuses = encoders.encode_images(uris)
            vectors = encoders.encode_text(texts)
            for position, index in enumerate(missing):
                text[index] = vectors[position]
                image[index] = images[position]
        out = rows.copy()
        out["text_vector"] = text
        out["image_vector"] = image
        return out

    def _stored_vectors(self, rows: pd.DataFrame) -> dict[tuple[str, str], tuple[Any, Any]]:
        from catalog_ml.pipeline.vectors import stored_vectors

        found = stored_vectors(self.lake, rows["content_hash"], self.spec.version).to_pylist()
        return {(r["product_id"], r["content_hash"]): (r["text_vector"], r["image_vector"])
                for r in found}

    # ------------------------------------------------------------------ lake look-ups
    def latest_classification(self, product_id: str) -> dict[str, Any] | None:
        if not self.lake.exists("classifications"):
            return None
        rows = self.lake.read("classifications", where={"product_id": product_id}).to_pylist()
        if not rows:
            return None
        latest = max(rows, key=lambda r: (r["run_date"], r["classified_at"]))
        return {**latest, "decided_by": latest.get("decided_by") or "model"}

    def models(self) -> list[dict[str, Any]]:
        from catalog_ml.models.registry import summary_rows

        return summary_rows(self.lake) if self.lake.exists("models") else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
