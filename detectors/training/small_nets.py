"""What the training of the small companion networks (face verifier, face follower) shares: the
recipe's fields and the photometric jitter of crop batches.

Faces painted, lit or filmed in odd colours stay faces: a share of every batch gets its colour
channels permuted or turned grey, so colour alone cannot decide; brightness and contrast vary too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SmallNetTraining:
    """A small network's training recipe."""

    epochs: int = 12
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 2


#: Share of training crops whose colour channels are randomly permuted, and turned grey.
CHANNEL_SHUFFLE = 0.5
GREY = 0.2

#: The six orders of three colour channels.
CHANNEL_ORDERS = torch.tensor([[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])


def shuffle_colours(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Permute the colour channels of a random :data:`CHANNEL_SHUFFLE` of an (N, 3, S, S) batch and
    turn a random :data:`GREY` of it grey."""
    count = len(batch)
    orders = CHANNEL_ORDERS[torch.randint(len(CHANNEL_ORDERS), (count,), generator=generator)]
    orders[torch.rand(count, generator=generator) >= CHANNEL_SHUFFLE] = CHANNEL_ORDERS[0]
    batch = torch.gather(batch, 1, orders[:, :, None, None].expand_as(batch))
    grey = torch.rand(count, generator=generator) < GREY
    return torch.where(grey[:, None, None, None], batch.mean(dim=1, keepdim=True).expand_as(batch), batch)


def photometric_jitter(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Colour shuffles (:func:`shuffle_colours`) and brightness/contrast changes of an (N, 3, S, S)
    batch in [0, 1]."""
    count = len(batch)
    batch = shuffle_colours(batch, generator)
    contrast = 0.7 + 0.6 * torch.rand(count, 1, 1, 1, generator=generator)
    brightness = 0.3 * torch.rand(count, 1, 1, 1, generator=generator) - 0.15
    mean = batch.mean(dim=(1, 2, 3), keepdim=True)
    return ((batch - mean) * contrast + mean + brightness).clamp(0.0, 1.0)
