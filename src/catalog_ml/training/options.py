"""The training options, declared once: their defaults are the settings' defaults.

``TrainOptions`` drive one fit of the fusion net, ``EnsembleOptions`` the whole protocol
(folds, held-out share, review target). ``from_settings`` is the one mapping from
``catalog_ml.config.Settings``; no default is written twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from catalog_ml.config import Settings


@dataclass(frozen=True)
class TrainOptions:
    epochs: int = Settings.train_epochs
    batch_size: int = Settings.train_batch_size
    learning_rate: float = Settings.train_learning_rate
    width: int = Settings.fusion_width
    seed: int = Settings.train_seed
    validation_share: float = Settings.train_validation_share
    text_finetune: str = Settings.text_finetune
    text_finetune_epochs: int = Settings.text_finetune_epochs
    text_finetune_cpu_max: int = Settings.text_finetune_cpu_max
    text_encoder_path: str = Settings.text_encoder_path  # "": the shipped MiniLM
    device: str = Settings.device
    precision: str = Settings.precision

    @classmethod
    def from_settings(cls, settings: Settings) -> TrainOptions:
        return cls(epochs=settings.train_epochs, batch_size=settings.train_batch_size,
                   learning_rate=settings.train_learning_rate, width=settings.fusion_width,
                   seed=settings.train_seed, validation_share=settings.train_validation_share,
                   text_finetune=settings.text_finetune,
                   text_finetune_epochs=settings.text_finetune_epochs,
                   text_finetune_cpu_max=settings.text_finetune_cpu_max,
                   text_encoder_path=settings.text_encoder_path, device=settings.device,
                   precision=settings.precision)

    @property
    def tunes_text(self) -> bool:
        """Whether the tuned text member is fitted: ``auto`` (not yet settled by
        ``for_products``) means where there is a GPU."""
        if self.text_finetune == "auto":
            return self.on_gpu
        return self.text_finetune in ("lora", "full")

    @property
    def on_gpu(self) -> bool:
        import torch

        return self.device != "cpu" and torch.cuda.is_available()

    def for_products(self, products: int) -> TrainOptions:
        """These options with ``auto`` settled for ``products`` labelled products: LoRA where
        a GPU is present, and on a CPU up to ``text_finetune_cpu_max`` products. A small
        catalog is where the tuned encoder helps most (on 700-product text catalogs it lifted
        the unseen leaf's macro-F1 by ~0.07, at 1,500-2,000 still by 0.02-0.05) and where it
        costs seconds to minutes; on a large one a CPU spends minutes per fold (the
        5,000-product fashion set: 2.4x ``train``, near the 2.5x it may cost there)."""
        if self.text_finetune != "auto":
            return self
        tune = self.on_gpu or products <= self.text_finetune_cpu_max
        return replace(self, text_finetune="lora" if tune else "none")

    @property
    def text_finetune_method(self) -> str:
        """How the tuned text member is fitted: ``auto`` tunes LoRA adapters (kilobytes in
        the artifact, against ~90 MB for a fully tuned MiniLM)."""
        return "full" if self.text_finetune == "full" else "lora"


@dataclass(frozen=True)
class EnsembleOptions:
    fusion: TrainOptions = field(default_factory=TrainOptions)
    folds: int = Settings.cv_folds
    holdout_share: float = Settings.holdout_share
    review_precision: float = Settings.review_precision
    review_certainty: float = Settings.review_certainty
    min_leaf_examples: int = Settings.min_leaf_examples
    cv_max_products: int = Settings.cv_max_products  # above it, a stratified sample is CV'd

    @classmethod
    def from_settings(cls, settings: Settings) -> EnsembleOptions:
        return cls(fusion=TrainOptions.from_settings(settings), folds=settings.cv_folds,
                   holdout_share=settings.holdout_share,
                   review_precision=settings.review_precision,
                   review_certainty=settings.review_certainty,
                   min_leaf_examples=settings.min_leaf_examples,
                   cv_max_products=settings.cv_max_products)
