"""catalog_ml.training.options: the training options take their defaults from the settings."""

from __future__ import annotations

import dataclasses

from catalog_ml.config import Settings, load_settings
from catalog_ml.training.options import EnsembleOptions, TrainOptions


def test_the_defaults_are_the_settings_defaults():
    assert EnsembleOptions.from_settings(Settings()) == EnsembleOptions()
    assert TrainOptions.from_settings(Settings()) == TrainOptions()


def test_every_option_follows_its_setting():
    settings = load_settings(train_epochs=7, train_batch_size=9, train_learning_rate=0.01,
                             fusion_width=16, train_seed=3, train_validation_share=0.2,
                             cv_folds=4, holdout_share=0.1, review_precision=0.9,
                             min_leaf_examples=5, cv_max_products=123, review_certainty=0.99,
                             text_finetune="lora", text_finetune_epochs=2,
                             text_finetune_cpu_max=50,
                             text_encoder_path="/models/bert", device="cpu", precision="fp32")
    options = EnsembleOptions.from_settings(settings)
    assert dataclasses.asdict(options) == {
        "fusion": {"epochs": 7, "batch_size": 9, "learning_rate": 0.01, "width": 16,
                   "seed": 3, "validation_share": 0.2, "text_finetune": "lora",
                   "text_finetune_epochs": 2, "text_finetune_cpu_max": 50,
                   "text_encoder_path": "/models/bert",
                   "device": "cpu", "precision": "fp32"},
        "folds": 4, "holdout_share": 0.1, "review_precision": 0.9, "min_leaf_examples": 5,
        "cv_max_products": 123, "review_certainty": 0.99}
