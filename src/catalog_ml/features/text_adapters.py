"""The text encoder fine-tuned on a catalog's own labels: low-rank adapters (LoRA) or every
weight.

The frozen encoder was trained to tell sentences apart, not article types. On the fashion
titles a rank-8 adapter on each layer's query and value (0.3 % of the weights) lifted a
logistic regression on its vectors from 0.951 to 0.965 accuracy, and tuning every weight to
0.969 (``benchmarks/text_finetune.py``). What was trained is what is stored (safetensors
arrays, no pickle): the adapters alone (kilobytes), or the whole encoder (~90 MB for MiniLM).
The base encoder is the one the settings name, loaded from its local folder, and a model
refuses stored weights whose names or shapes do not fit it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from catalog_ml.features.runtime import Runtime

RANK, ALPHA = 8, 16.0
BATCH, MAX_TOKENS = 32, 64
METHODS = ("lora", "full")
# the encoder's learning rate per method: adapters start at zero and need a large one; the
# full encoder's pretrained weights are spoilt by more than ~1e-4
ENCODER_RATE = {"lora": 1e-3, "full": 5e-5}
HEAD_RATE = 2e-3
LOGIT_SCALE = 10.0  # the head reads unit vectors: scale them so softmax can be sharp


class LowRank(nn.Module):
    """``base(x) + x A^T B^T * alpha / r`` around a frozen linear layer; B starts at zero, so
    an untrained adapter changes nothing."""

    def __init__(self, base: nn.Linear, rank: int = RANK, alpha: float = ALPHA) -> None:
        super().__init__()
        self.base = base
        self.down = nn.Parameter(torch.randn(rank, base.in_features) * 0.01)
        self.up = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.down.T @ self.up.T) * self.scale


def warm_then_decay(steps: int) -> Callable[[int], float]:
    """The learning-rate factor per step: a linear warm-up over the first tenth, then a linear
    decay to 5 %; any number of steps, even one."""
    warm = max(1, steps // 10)

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.05, 1 - (step - warm) / max(1, steps - warm))

    return factor


def _adapted(path: Path, runtime: Runtime, method: str) -> tuple[Any, Any]:
    """The tokenizer and the encoder with ``method``'s weights (and only those) trainable."""
    if method not in METHODS:
        raise ValueError(f"unknown fine-tuning method {method!r}: one of {', '.join(METHODS)}")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    os.environ["HF_HUB_OFFLINE"] = "1"
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True).to(runtime.device)
    if method == "full":
        return tokenizer, model
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for layer in model.encoder.layer:
        attention = layer.attention.self
        attention.query = LowRank(attention.query).to(runtime.device)
        attention.value = LowRank(attention.value).to(runtime.device)
    return tokenizer, model


def _trained(model: Any, method: str) -> dict[str, nn.Parameter]:
    """The weights ``method`` trains and the artifact stores, by name."""
    named = dict(model.named_parameters())
    if method == "full":
        return named
    return {name: value for name, value in named.items()
            if name.rsplit(".", 1)[-1] in ("down", "up")}  # LowRank's own


@dataclass
class AdaptedTextEncoder:
    tokenizer: Any
    model: Any
    runtime: Runtime
    method: str = "lora"  # "lora": adapters on a frozen encoder; "full": every weight

    @classmethod
    def fit(cls, path: Path, documents: list[str], targets: np.ndarray, n_classes: int,
            runtime: Runtime, epochs: int, seed: int, method: str = "lora"
            ) -> AdaptedTextEncoder:
        """The method's weights trained with a linear head (cross-entropy, AdamW, warm-up then
        linear decay); the head is thrown away: the member fits its own on the tuned vectors."""
        torch.manual_seed(seed)
        tokenizer, model = _adapted(path, runtime, method)
        encoder = cls(tokenizer, model, runtime, method)
        head = nn.Linear(model.config.hidden_size, n_classes).to(runtime.device)
        trained = list(_trained(model, method).values())
        optimiser = torch.optim.AdamW([{"params": trained, "lr": ENCODER_RATE[method]},
                                       {"params": head.parameters(), "lr": HEAD_RATE}],
                                      weight_decay=0.01)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, warm_then_decay(epochs * math.ceil(len(documents) / BATCH)))
        rng = np.random.default_rng(seed)
        labels = torch.as_tensor(targets, device=runtime.device)
        model.train()
        for _ in range(epochs):
            order = rng.permutation(len(documents))
            for start in range(0, len(order), BATCH):
                index = order[start:start + BATCH]
                vectors = encoder._pooled([documents[i] for i in index])
                loss = nn.functional.cross_entropy(head(vectors * LOGIT_SCALE),
                                                   labels[index])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
        model.eval()
        return encoder

    def _pooled(self, texts: list[str]) -> torch.Tensor:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS,
                               return_tensors="pt").to(self.runtime.device)
        with torch.autocast(self.runtime.device.type, dtype=self.runtime.dtype,
                            enabled=self.runtime.autocast):
            hidden = self.model(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, dim=-1)

    @torch.inference_mode()
    def encode(self, documents: list[str], batch_size: int = 64) -> np.ndarray:
        """(n, dim) unit vectors; texts sorted by length so batches pad little."""
        out = np.zeros((len(documents), self.model.config.hidden_size), dtype=np.float32)
        order = np.argsort([len(d) for d in documents], kind="stable")
        for start in range(0, len(documents), batch_size):
            index = order[start:start + batch_size]
            out[index] = self._pooled([documents[i] for i in index]).cpu().numpy()
        return out

    def tensors(self, prefix: str) -> dict[str, np.ndarray]:
        """The trained weights: the adapters, or the whole encoder."""
        return {f"{prefix}.{name}": value.detach().cpu().float().contiguous().numpy()
                for name, value in _trained(self.model, self.method).items()}

    @classmethod
    def restore(cls, path: Path, arrays: dict[str, np.ndarray], prefix: str,
                runtime: Runtime, method: str = "lora") -> AdaptedTextEncoder:
        """The base encoder at ``path`` with the stored weights; ValueError when they do not
        fit it (another base encoder, another method, or weights missing)."""
        tokenizer, model = _adapted(path, runtime, method)
        wanted = _trained(model, method)
        stored = {k.removeprefix(f"{prefix}."): v for k, v in arrays.items()
                  if k.startswith(f"{prefix}.")}
        if set(stored) != set(wanted):
            raise ValueError(f"the stored {method} weights ({len(stored)}) do not match the "
                             f"text encoder at {path} ({len(wanted)} {method} weights)")
        with torch.no_grad():
            for name, parameter in wanted.items():
                if tuple(stored[name].shape) != tuple(parameter.shape):
                    raise ValueError(f"{method} weight {name} has shape {stored[name].shape}, "
                                     f"the text encoder at {path} needs "
                                     f"{tuple(parameter.shape)}")
                parameter.copy_(torch.from_numpy(stored[name]))
        model.eval()
        for parameter in model.parameters():  # nothing trains after a restore
            parameter.requires_grad_(False)
        return cls(tokenizer, model, runtime, method)
