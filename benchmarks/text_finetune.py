"""Frozen against fine-tuned text encoders on product titles, with what each costs.

    .venv/bin/python benchmarks/text_finetune.py [--variants frozen,lora,full] [--epochs 3]
                                                 [--device auto|cpu|cuda]

One stratified fold (80 / 20) of the fashion set's titles, leaf = articleType (types with at
least 5 products). Every variant ends the same way, a logistic regression on the encoder's
mean-pooled, L2-normalised vectors, so the figures compare the encoders and nothing else:

- ``frozen``: the shipped all-MiniLM-L6-v2 as the nightly embed step runs it;
- ``full``: every weight fine-tuned with a linear head (cross-entropy, AdamW, one-cycle);
- ``lora``: the encoder frozen, rank-8 adapters on each layer's query and value (0.3 % of the
  weights) trained with the head.

Prints accuracy / macro-F1 per variant and training seconds per 1,000 products per epoch.
bf16 autocast where the CPU has native bf16 (or on the GPU).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from catalog_ml.features.model_files import default_text_encoder_path
from catalog_ml.features.runtime import resolve_runtime
from catalog_ml.features.text_adapters import LowRank

FASHION = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fashion_myntra"
BATCH, MAX_TOKENS = 32, 32


class Bench:
    def __init__(self, device: str, epochs: int) -> None:
        from transformers import AutoModel, AutoTokenizer

        os.environ["HF_HUB_OFFLINE"] = "1"
        self.runtime = resolve_runtime(device)
        self.path = default_text_encoder_path()
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        self.load = lambda: AutoModel.from_pretrained(self.path, local_files_only=True).to(
            self.runtime.device)
        self.epochs = epochs
        frame = pd.read_parquet(FASHION / "products.parquet")
        frame = frame[frame["articleType"].map(frame["articleType"].value_counts()) >= 5]
        self.titles = frame["productDisplayName"].tolist()
        classes = sorted(set(frame["articleType"]))
        self.targets = np.asarray([classes.index(c) for c in frame["articleType"]])
        self.n_classes = len(classes)
        self.train, self.test = next(StratifiedKFold(5, shuffle=True, random_state=0).split(
            self.titles, self.targets))

    def pooled(self, model: nn.Module, index: np.ndarray) -> torch.Tensor:
        batch = self.tokenizer([self.titles[i] for i in index], padding=True, truncation=True,
                               max_length=MAX_TOKENS, return_tensors="pt").to(
                                   self.runtime.device)
        with torch.autocast(self.runtime.device.type, dtype=self.runtime.dtype,
                            enabled=self.runtime.autocast):
            hidden = model(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)

    def score(self, model: nn.Module) -> tuple[float, float]:
        model.eval()
        with torch.inference_mode():
            vectors = np.concatenate([self.pooled(model, self.train[s:s + 64]).cpu().numpy()
                                      for s in range(0, len(self.train), 64)])
            tests = np.concatenate([self.pooled(model, self.test[s:s + 64]).cpu().numpy()
                                    for s in range(0, len(self.test), 64)])
        guess = LogisticRegression(C=10.0, max_iter=2000).fit(
            vectors, self.targets[self.train]).predict(tests)
        truth = self.targets[self.test]
        return float((guess == truth).mean()), float(f1_score(truth, guess, average="macro"))

    def tune(self, model: nn.Module, parameters: list[nn.Parameter], rate: float) -> float:
        """Fine-tunes in place; returns seconds per 1,000 products per epoch."""
        head = nn.Linear(model.config.hidden_size, self.n_classes).to(self.runtime.device)
        optimiser = torch.optim.AdamW([{"params": parameters, "lr": rate},
                                       {"params": head.parameters(), "lr": 2e-3}],
                                      weight_decay=0.01)
        steps = self.epochs * math.ceil(len(self.train) / BATCH)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=[rate, 2e-3],
                                                       total_steps=steps, pct_start=0.1)
        rng = np.random.default_rng(0)
        started = time.perf_counter()
        for _ in range(self.epochs):
            model.train()
            order = rng.permutation(self.train)
            for start in range(0, len(order), BATCH):
                index = order[start:start + BATCH]
                logits = head(self.pooled(model, index) * 10)
                loss = nn.functional.cross_entropy(
                    logits, torch.as_tensor(self.targets[index], device=self.runtime.device))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
        seconds = time.perf_counter() - started
        return seconds / self.epochs / len(self.train) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="frozen,lora,full")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    if not FASHION.exists():
        raise SystemExit(f"no data at {FASHION} (../shared beside the clone)")
    torch.manual_seed(0)
    bench = Bench(args.device, args.epochs)
    print(f"{len(bench.train)} titles to train on, {len(bench.test)} to test, "
          f"{bench.n_classes} article types; {bench.runtime.device} "
          f"{str(bench.runtime.dtype).removeprefix('torch.')}, {args.epochs} epochs", flush=True)
    for variant in args.variants.split(","):
        model = bench.load()
        cost = 0.0
        if variant == "full":
            cost = bench.tune(model, list(model.parameters()), 5e-5)
        elif variant == "lora":
            for parameter in model.parameters():
                parameter.requires_grad_(False)
            for layer in model.encoder.layer:
                attention = layer.attention.self
                attention.query, attention.value = LowRank(attention.query), LowRank(
                    attention.value)
            cost = bench.tune(model, [p for p in model.parameters() if p.requires_grad], 1e-3)
        elif variant != "frozen":
            raise SystemExit(f"unknown variant {variant!r}: frozen, lora or full")
        accuracy, macro_f1 = bench.score(model)
        print(f"{variant:7} accuracy {accuracy:.4f}  macro-F1 {macro_f1:.4f}  "
              f"training {cost:.1f} s per 1,000 products per epoch", flush=True)


if __name__ == "__main__":
    main()
