"""Fine-tune only some layers: the other parameters keep their values and their BatchNorms keep
their running statistics (eval mode), so the frozen part computes exactly what it did before.

Used to teach a shipped detector new negatives through its classifiers alone
(``trainable=("head.classifiers",)``): features and box regression stay the shipped ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def is_trainable(name: str, trainable: Sequence[str]) -> bool:
    """Whether the parameter or module ``name`` lies under one of the ``trainable`` prefixes."""
    return any(name == prefix or name.startswith(f"{prefix}.") for prefix in trainable)


def freeze_except(model: nn.Module, trainable: Sequence[str]) -> list[nn.Parameter]:
    """Turn off gradients outside ``trainable``; returns the parameters left to train.

    Raises:
        ValueError: If no parameter matches ``trainable``.
    """
    kept = []
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(is_trainable(name, trainable))
        if parameter.requires_grad:
            kept.append(parameter)
    if not kept:
        raise ValueError(f"no parameter of the model lies under {list(trainable)}")
    return kept


def frozen_norms_to_eval(model: nn.Module, trainable: Sequence[str]) -> None:
    """Put the BatchNorms outside ``trainable`` in eval mode (call after ``model.train()``)."""
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not is_trainable(name, trainable):
            module.eval()
