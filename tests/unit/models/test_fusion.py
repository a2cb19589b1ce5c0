"""catalog_ml.models.fusion: the attention-fusion net's masking and modality dropout."""

import torch

from catalog_ml.models.fusion import FusionClassifier, FusionConfig
from catalog_ml.training.trainer import drop_modalities


def test_missing_modalities_get_no_attention():
    network = FusionClassifier(FusionConfig(text_dim=8, image_dim=6, price_dim=2, n_classes=3))
    network.eval()
    present = torch.tensor([[True, False, True], [True, True, False]])
    logits, weights = network(torch.randn(2, 8), torch.randn(2, 6), torch.randn(2, 2), present)
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()
    assert weights[0, 1] == 0 and weights[1, 2] == 0
    assert torch.allclose(weights.sum(-1), torch.ones(2))


def test_modality_dropout_always_leaves_one_modality():
    present = torch.tensor([[True, True, False]] * 2000)
    dropped = drop_modalities(present, torch.Generator().manual_seed(0))
    assert dropped.any(-1).all()
    assert not dropped[:, 2].any()  # never adds a modality
    assert (~dropped[:, 1]).any() and (~dropped[:, 0]).any()
