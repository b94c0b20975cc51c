"""Self-distillation while fine-tuning: the teacher's answers as soft targets on crops with faces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from detectors.training.distill import ainnoface_distillation, faceboxes_distillation, frozen_teacher  # noqa: E402
from detectors.training.train import TrainConfig, TrainingSetupError, train  # noqa: E402
from tests.test_detector_train_loop import _config, _write_voc  # noqa: E402

#: Face logits of a teacher on two crops of six anchors.
FACE_LOGITS = torch.tensor([[4.0, -3.0, 0.5, -8.0, 2.0, 0.0], [1.0, -1.0, 3.0, -2.0, 0.0, 6.0]])
BOTH = torch.tensor([True, True])


def _faceboxes_answers(face_logit: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(deltas, two-class logits) whose face probability is sigmoid(face_logit)."""
    logits = torch.stack([torch.zeros_like(face_logit), face_logit], dim=-1)
    deltas = torch.arange(face_logit.numel() * 4, dtype=torch.float32).reshape(*face_logit.shape, 4) / 10
    return deltas, logits


def test_no_loss_when_the_student_answers_as_the_teacher() -> None:
    teacher = _faceboxes_answers(FACE_LOGITS)
    # The same probabilities from other logits: a two-class softmax only sees their difference.
    student = (teacher[0].clone(), teacher[1] + 5.0)
    assert float(faceboxes_distillation(student, teacher, BOTH)) == pytest.approx(0.0, abs=1e-4)


def test_a_different_score_or_box_costs_and_its_gradient_points_to_the_teacher() -> None:
    deltas, logits = _faceboxes_answers(FACE_LOGITS)
    student = logits.clone().requires_grad_(True)
    with torch.no_grad():
        student[0, 1, 1] = 3.0  # the teacher says 0.05 here; the student now says 0.95
    loss = faceboxes_distillation((deltas, student), (deltas, logits), BOTH)
    loss.backward()
    assert float(loss.detach()) > 1.0
    assert float(student.grad[0, 1, 1]) > 0  # a step down the gradient lowers the face logit
    moved = deltas.clone()
    moved[0, 0, 0] += 2.0  # anchor 0: teacher face probability 0.98, so its box counts: 2 - 0.5
    assert float(faceboxes_distillation((moved, logits), (deltas, logits), BOTH)) == pytest.approx(1.5, abs=1e-4)
    moved = deltas.clone()
    moved[0, 1, 0] += 2.0  # anchor 1: the teacher sees background, its box is not copied
    assert float(faceboxes_distillation((moved, logits), (deltas, logits), BOTH)) == pytest.approx(0.0, abs=1e-4)


def test_crops_without_a_face_keep_their_hard_labels_only() -> None:
    deltas, logits = _faceboxes_answers(FACE_LOGITS)
    student = logits.clone()
    student[1, :, 1] = -10.0  # crop 1 is a negative: the student learnt "no face" where the teacher saw faces
    only_first = torch.tensor([True, False])
    assert float(faceboxes_distillation((deltas, student), (deltas, logits), only_first)) == pytest.approx(0.0, abs=1e-4)
    assert float(faceboxes_distillation((deltas, student), (deltas, logits), BOTH)) > 1.0
    assert float(faceboxes_distillation((deltas, student), (deltas, logits), ~BOTH)) == 0.0


def test_ainnoface_distillation_covers_both_steps() -> None:
    from detectors.ainnoface.model import AInnoFaceOutput

    reg = torch.arange(48, dtype=torch.float32).reshape(2, 6, 4) / 10
    first = torch.tensor([True, True, True, False, False, False])
    teacher = AInnoFaceOutput(FACE_LOGITS, reg, FACE_LOGITS, reg, first, first)
    assert float(ainnoface_distillation(teacher, teacher, BOTH)) == pytest.approx(0.0, abs=1e-4)
    cls1 = FACE_LOGITS.clone()
    cls1[0, 4] = -9.0  # no first-step classifier on anchor 4: not compared
    assert float(ainnoface_distillation(teacher._replace(cls1=cls1), teacher, BOTH)) == pytest.approx(0.0, abs=1e-4)
    cls1[0, 1] = 5.0  # anchor 1 has one: compared
    assert float(ainnoface_distillation(teacher._replace(cls1=cls1), teacher, BOTH)) > 1.0
    reg2 = reg.clone()
    reg2[0, 0, 0] += 2.0  # a confident anchor's second-step box
    assert float(ainnoface_distillation(teacher._replace(reg2=reg2), teacher, BOTH)) == pytest.approx(1.5, abs=1e-4)
    assert float(ainnoface_distillation(teacher._replace(reg2=reg2), teacher, ~BOTH)) == 0.0


def test_the_teacher_is_frozen() -> None:
    from detectors.faceboxes.model import build_faceboxes

    teacher = frozen_teacher(build_faceboxes("small"))
    assert not teacher.training and not any(parameter.requires_grad for parameter in teacher.parameters())


@pytest.fixture(scope="module")
def started_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny one-epoch run whose best.pt is the starting point of the distillation runs."""
    data = _write_voc(tmp_path_factory.mktemp("voc") / "faces")
    run_dir = tmp_path_factory.mktemp("run") / "start"
    train(_config(run_dir, data), log=lambda message: None)
    return data, run_dir / "best.pt"


def test_an_ainnoface_distillation_run_starts_at_zero(tmp_path: Path) -> None:
    data = _write_voc(tmp_path / "faces")
    start = tmp_path / "start"
    train(_config(start, data, family="ainnoface", dev_set=None), log=lambda message: None)
    run_dir = tmp_path / "distilled"
    train(_config(run_dir, data, family="ainnoface", dev_set=None, init_from=str(start / "best.pt"), distill_weight=1.0, frozen_norms=True,
                  max_batches=1, learning_rate=0.0, bf16=False, negative_fraction=0.0), log=lambda message: None)
    record = json.loads((run_dir / "log.jsonl").read_text().splitlines()[0])
    assert record["distill_loss"] == pytest.approx(0.0, abs=1e-4)


def test_a_distillation_run_starts_at_zero_and_keeps_batchnorm_statistics(
    started_run: tuple[Path, Path], tmp_path: Path
) -> None:
    data, start = started_run
    run_dir = tmp_path / "distilled"
    config = _config(run_dir, data, init_from=str(start), distill_weight=1.0, frozen_norms=True, max_batches=1,
                     learning_rate=0.0, bf16=False, negative_fraction=0.0)
    train(config, log=lambda message: None)
    record = json.loads((run_dir / "log.jsonl").read_text().splitlines()[0])
    # Same weights and BatchNorms in eval mode: the student answers as the teacher does.
    assert record["distill_loss"] == pytest.approx(0.0, abs=1e-4)
    before = torch.load(start, weights_only=True)["model"]
    after = torch.load(run_dir / "best.pt", weights_only=True)["model"]
    running = [name for name in before if name.endswith(("running_mean", "running_var"))]
    assert running and all(torch.equal(before[name], after[name]) for name in running)


def test_distillation_settings_that_cannot_work_are_refused(started_run: tuple[Path, Path], tmp_path: Path) -> None:
    data, start = started_run
    with pytest.raises(TrainingSetupError, match="--init-from"):
        train(_config(tmp_path / "a", data, distill_weight=1.0), log=lambda message: None)
    with pytest.raises(TrainingSetupError, match="no parameter"):
        train(_config(tmp_path / "c", data, trainable=["no.such.layer"]), log=lambda message: None)


def test_train_command_passes_the_fine_tuning_options(started_run: tuple[Path, Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from apps.cli import app

    data, start = started_run
    run_dir = tmp_path / "cli"
    result = CliRunner().invoke(app, [
        "train", "--run-dir", str(run_dir), "--train-set", str(data), "--epochs", "1", "--batch-size", "2",
        "--image-size", "128", "--workers", "0", "--threads", "1", "--init-from", str(start), "--variant", "small",
        "--distill-weight", "0.5", "--frozen-norms", "--negatives", "0.25", "--trainable", "head",
    ])
    assert result.exit_code == 0, result.output
    recorded = torch.load(run_dir / "last.pt", weights_only=True)["config"]
    assert recorded["distill_weight"] == 0.5 and recorded["frozen_norms"] is True
    assert recorded["negative_fraction"] == 0.25 and recorded["trainable"] == ["head"]
    refused = CliRunner().invoke(app, ["train", "--run-dir", str(tmp_path / "x"), "--train-set", str(data),
                                       "--distill-weight", "1"])
    assert refused.exit_code == 2 and "--init-from" in refused.output
    assert TrainConfig().distill_weight == 0.0  # off unless asked for
