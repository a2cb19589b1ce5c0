"""Feature-level fusion: one token per modality, a learned query attends across them.

Text, image and price are each projected to a common width and tagged with a modality
embedding. A learned query token attends over the tokens with missing modalities masked out
(not zero-filled), so a product without a photo or a price is classified from what it has. The
attention weights split the fusion net's share of a decision among the modalities
(``catalog_ml.models.attribution``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from catalog_ml.models.inputs import ModelInputs

MODALITIES = ("text", "image", "price")


@dataclass(frozen=True)
class FusionConfig:
    text_dim: int
    image_dim: int
    price_dim: int
    n_classes: int
    width: int = 256
    lexical_dim: int = 0  # > 0: a fourth token from sparse TF-IDF word features
    heads: int = 4
    dropout: float = 0.2

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


def _projection(in_dim: int, width: int, dropout: float) -> nn.Module:
    return nn.Sequential(
        nn.LayerNorm(in_dim), nn.Dropout(dropout), nn.Linear(in_dim, width), nn.GELU(),
        nn.Linear(width, width))


class FusionClassifier(nn.Module):
    def __init__(self, config: FusionConfig) -> None:
        super().__init__()
        self.config = config
        width = config.width
        self.text_projection = _projection(config.text_dim, width, config.dropout)
        self.image_projection = _projection(config.image_dim, width, config.dropout)
        self.price_projection = nn.Sequential(
            nn.Linear(config.price_dim, width), nn.GELU(), nn.Linear(width, width))
        self.lexical_weight: nn.Parameter | None = None
        tokens = len(MODALITIES)
        if config.lexical_dim:
            # a sparse product needs a plain weight matrix, not nn.Linear
            self.lexical_weight = nn.Parameter(torch.randn(config.lexical_dim, width) * 0.01)
            self.lexical_bias = nn.Parameter(torch.zeros(width))
            self.lexical_out = nn.Sequential(nn.GELU(), nn.Dropout(config.dropout),
                                             nn.Linear(width, width))
            tokens += 1
        self.modality_embedding = nn.Parameter(torch.randn(tokens, width) * 0.02)
        self.query = nn.Parameter(torch.randn(1, 1, width) * 0.02)
        self.attention = nn.MultiheadAttention(width, config.heads, dropout=config.dropout,
                                               batch_first=True)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(width, width), nn.GELU(),
            nn.Dropout(config.dropout), nn.Linear(width, config.n_classes))

    def forward(self, text: torch.Tensor, image: torch.Tensor, price: torch.Tensor,
                present: torch.Tensor, lexical: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, classes) and modality weights (B, 3); ``present`` is (B, 3) bool.

        The lexical token (sparse TF-IDF, when configured) belongs to the text: it is there
        when the text is, and its attention weight counts as the text's.
        """
        parts = [self.text_projection(text), self.image_projection(image),
                 self.price_projection(price)]
        if self.lexical_weight is not None:
            if lexical is None:
                raise ValueError("this fusion net needs the lexical (TF-IDF) features")
            parts.append(self.lexical_out(
                torch.sparse.mm(lexical, self.lexical_weight) + self.lexical_bias))
            present = torch.cat([present, present[:, :1]], dim=1)
        tokens = torch.stack(parts, dim=1) + self.modality_embedding
        query = self.query.expand(tokens.shape[0], -1, -1)
        attended, weights = self.attention(
            query, tokens, tokens, key_padding_mask=~present, need_weights=True,
            average_attn_weights=True)
        mask = present.unsqueeze(-1).to(tokens.dtype)
        mean_present = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        fused = self.norm(attended.squeeze(1) + mean_present)
        weights = weights.squeeze(1)
        if self.lexical_weight is not None:
            weights = torch.cat([weights[:, :1] + weights[:, 3:], weights[:, 1:3]], dim=1)
        return self.head(fused), weights


@torch.inference_mode()
def batched_forward(network: FusionClassifier, inputs: ModelInputs, batch_size: int = 1024
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and modality weights for any number of products, a batch at a time."""
    network.eval()
    logits, weights = [], []
    for start in range(0, len(inputs), batch_size):
        part = inputs.subset(slice(start, start + batch_size))
        logit, weight = network(part.text, part.image, part.price, part.present,
                                part.lexical_tensor())
        logits.append(logit.float())
        weights.append(weight.float())
    if not logits:
        return torch.zeros((0, network.config.n_classes)), torch.zeros((0, len(MODALITIES)))
    return torch.cat(logits), torch.cat(weights)
