"""Self-distillation for fine-tuning a shipped detector on something new (hard negatives).

A detector fine-tuned from its own shipped weights forgets part of what it knew: on real images
its answers drift, and the dev AP with them. Here a frozen copy of the starting weights (the
teacher) runs on every training crop beside the model being trained (the student), and on crops
that hold labelled faces the student is also asked to give the teacher's answers, anchor by
anchor: the teacher's face probability as a soft label (binary cross-entropy minus the teacher's
own entropy, so the term is zero when the two agree) and, where the teacher sees a face, its box
regression. Crops without a labelled face (the hard negatives) keep their hard labels only, so
what the student is taught there (no face) is not undone by the teacher's old answer.

The soft-label idea is Hinton et al. 2015 ("Distilling the knowledge in a neural network");
keeping a model close to its earlier self while it learns a new task is Li and Hoiem 2016
("Learning without forgetting").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

#: Anchors where the teacher's face probability reaches this also copy its box regression.
TEACHER_FACE_PROBABILITY = 0.5


@dataclass(frozen=True)
class TeacherAnswers:
    """What the teacher said about one batch: (N, A, 4) deltas and (N, A) face probabilities."""

    deltas: torch.Tensor
    face_probability: torch.Tensor


def frozen_teacher(model: nn.Module) -> nn.Module:
    """``model`` in eval mode with gradients off (its BatchNorms keep their running statistics)."""
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def teacher_answers(teacher: nn.Module, images: torch.Tensor) -> TeacherAnswers:
    """Run a two-class (background, face) teacher on ``images`` without gradients."""
    with torch.no_grad():
        deltas, logits = teacher(images)
    return TeacherAnswers(deltas.float(), torch.softmax(logits.float(), dim=-1)[..., 1])


def distillation_loss(
    deltas: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor, teacher: TeacherAnswers, normaliser: torch.Tensor
) -> torch.Tensor:
    """Soft-label and box terms asking the student for the teacher's answers on crops with a face.

    Args:
        deltas: (N, A, 4) student box regressions.
        logits: (N, A, 2) student class logits (background, face).
        labels: (N, A) hard labels (1 = face); crops with no face anchor are left out.
        teacher: the teacher's answers on the same crops.
        normaliser: the hard loss's normaliser (number of face anchors), so both terms share a scale.

    Returns:
        A scalar: 0 when the student answers as the teacher does on every kept anchor.
    """
    kept = (labels == 1).any(dim=1)
    if not bool(kept.any()):
        return logits.sum() * 0.0
    target = teacher.face_probability[kept].clamp(1e-6, 1 - 1e-6)
    log_probabilities = F.log_softmax(logits[kept].float(), dim=-1)
    cross_entropy = -(target * log_probabilities[..., 1] + (1 - target) * log_probabilities[..., 0])
    entropy = -(target * target.log() + (1 - target) * (1 - target).log())
    soft_labels = (cross_entropy - entropy).sum()
    confident = teacher.face_probability[kept] >= TEACHER_FACE_PROBABILITY
    boxes = F.smooth_l1_loss(deltas[kept].float()[confident], teacher.deltas[kept][confident], reduction="sum")
    return (soft_labels + boxes) / normaliser
