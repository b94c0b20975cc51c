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

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

#: Anchors where the teacher's face probability reaches this also copy its box regression.
TEACHER_FACE_PROBABILITY = 0.5


def frozen_teacher(model: nn.Module) -> nn.Module:
    """``model`` in eval mode with gradients off (its BatchNorms keep their running statistics)."""
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def soft_label_loss(student_logits: torch.Tensor, teacher_probability: torch.Tensor) -> torch.Tensor:
    """Summed binary cross-entropy of the student's face logits against the teacher's probabilities,
    minus the teacher's own entropy: 0 where the two agree, and the same gradient as the cross-entropy."""
    target = teacher_probability.float().clamp(1e-6, 1 - 1e-6)
    cross_entropy = F.binary_cross_entropy_with_logits(student_logits.float(), target, reduction="sum")
    entropy = -(target * target.log() + (1 - target) * (1 - target).log()).sum()
    return cross_entropy - entropy


def copied_boxes_loss(student_deltas: torch.Tensor, teacher_deltas: torch.Tensor, confident: torch.Tensor) -> torch.Tensor:
    """Summed smooth L1 between the student's and the teacher's box regressions where ``confident``."""
    return F.smooth_l1_loss(student_deltas.float()[confident], teacher_deltas.float()[confident], reduction="sum")


def faceboxes_distillation(
    student: tuple[torch.Tensor, torch.Tensor], teacher: tuple[torch.Tensor, torch.Tensor], has_face: torch.Tensor
) -> torch.Tensor:
    """Summed distillation terms of a two-class (background, face) detector on the crops ``has_face``.

    ``student`` and ``teacher`` are (deltas (N, A, 4), logits (N, A, 2)); a two-class softmax is a
    sigmoid of the logits' difference, so the face logit is ``face - background``.
    """
    if not bool(has_face.any()):
        return student[1].sum() * 0.0
    (deltas, logits), (teacher_deltas, teacher_logits) = student, teacher
    face_logit = logits[has_face][..., 1] - logits[has_face][..., 0]
    teacher_probability = torch.softmax(teacher_logits[has_face].float(), dim=-1)[..., 1]
    confident = teacher_probability >= TEACHER_FACE_PROBABILITY
    return soft_label_loss(face_logit, teacher_probability) + copied_boxes_loss(
        deltas[has_face], teacher_deltas[has_face], confident)


def ainnoface_distillation(student: Any, teacher: Any, has_face: torch.Tensor) -> torch.Tensor:
    """Summed distillation terms of AInnoFace's two steps (:class:`detectors.ainnoface.model.AInnoFaceOutput`)
    on the crops ``has_face``: both classifiers' soft labels (the first only where it exists) and
    both regressions where the teacher's second step sees a face."""
    if not bool(has_face.any()):
        return student.cls2.sum() * 0.0
    first = teacher.cls1_mask.to(student.cls1.device)
    teacher_probability = torch.sigmoid(teacher.cls2[has_face].float())
    confident = teacher_probability >= TEACHER_FACE_PROBABILITY
    return (
        soft_label_loss(student.cls1[has_face][:, first], torch.sigmoid(teacher.cls1[has_face][:, first].float()))
        + soft_label_loss(student.cls2[has_face], teacher_probability)
        + copied_boxes_loss(student.reg1[has_face], teacher.reg1[has_face], confident & teacher.reg1_mask[None])
        + copied_boxes_loss(student.reg2[has_face], teacher.reg2[has_face], confident)
    )
