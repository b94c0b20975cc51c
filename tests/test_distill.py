"""Self-distillation while fine-tuning: the teacher's answers as soft targets on crops with faces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from detectors.training.distill import TeacherAnswers, distillation_loss, frozen_teacher, teacher_answers  # noqa: E402
from detectors.training.train import TrainConfig, TrainingSetupError, train  # noqa: E402
from tests.test_detector_train_loop import _config, _write_voc  # noqa: E402

ANCHORS = 6


def _answers(face_logit: torch.Tensor) -> tuple[torch.Tensor, TeacherAnswers]:
    """Two-class logits whose face probability is sigmoid(face_logit), and a teacher saying exactly that."""
    logits = torch.stack([torch.zeros_like(face_logit), face_logit], dim=-1)
    deltas = torch.arange(face_logit.numel() * 4, dtype=torch.float32).reshape(*face_logit.shape, 4) / 10
    return logits, TeacherAnswers(deltas.clone(), torch.sigmoid(face_logit))


def _labels(*faces_per_crop: int) -> torch.Tensor:
    labels = torch.zeros(len(faces_per_crop), ANCHORS, dtype=torch.long)
    for row, count in enumerate(faces_per_crop):
        labels[row, :count] = 1
    return labels


def test_no_loss_when_the_student_answers_as_the_teacher() -> None:
    face_logit = torch.tensor([[4.0, -3.0, 0.5, -8.0, 2.0, 0.0], [1.0, -1.0, 3.0, -2.0, 0.0, 6.0]])
    logits, answers = _answers(face_logit)
    loss = distillation_loss(answers.deltas, logits, _labels(1, 2), answers, torch.tensor(3.0))
    assert float(loss) == pytest.approx(0.0, abs=1e-5)


def test_a_different_score_or_box_costs_and_its_gradient_points_to_the_teacher() -> None:
    face_logit = torch.tensor([[4.0, -3.0, 0.5, -8.0, 2.0, 0.0]])
    logits, answers = _answers(face_logit)
    student = logits.clone().requires_grad_(True)
    with torch.no_grad():
        student[0, 1, 1] = 3.0  # the teacher says 0.05 here; the student now says 0.95
    loss = distillation_loss(answers.deltas, student, _labels(1), answers, torch.tensor(1.0))
    loss.backward()
    assert float(loss.detach()) > 1.0
    assert float(student.grad[0, 1, 1]) > 0  # a step down the gradient lowers the face logit
    moved_box = answers.deltas.clone()
    moved_box[0, 0, 0] += 2.0  # anchor 0: teacher face probability 0.98, so its box counts
    assert float(distillation_loss(moved_box, logits, _labels(1), answers, torch.tensor(1.0))) == pytest.approx(1.5)
    moved_box = answers.deltas.clone()
    moved_box[0, 1, 0] += 2.0  # anchor 1: the teacher sees background, its box is not copied
    assert float(distillation_loss(moved_box, logits, _labels(1), answers, torch.tensor(1.0))) == pytest.approx(0.0, abs=1e-5)


def test_crops_without_a_face_keep_their_hard_labels_only() -> None:
    face_logit = torch.tensor([[4.0, -3.0, 0.5, -8.0, 2.0, 0.0], [4.0, -3.0, 0.5, -8.0, 2.0, 0.0]])
    logits, answers = _answers(face_logit)
    student = logits.clone()
    student[1, :, 1] = -10.0  # the negative crop: the student learnt "no face" where the teacher saw faces
    assert float(distillation_loss(answers.deltas, student, _labels(2, 0), answers, torch.tensor(2.0))) == pytest.approx(0.0, abs=1e-5)
    assert float(distillation_loss(answers.deltas, student, _labels(2, 1), answers, torch.tensor(2.0))) > 1.0
    assert float(distillation_loss(answers.deltas, student, _labels(0, 0), answers, torch.tensor(1.0))) == 0.0


def test_the_teacher_is_frozen_and_gives_face_probabilities() -> None:
    from detectors.faceboxes.model import build_faceboxes

    teacher = frozen_teacher(build_faceboxes("small"))
    assert not teacher.training and not any(parameter.requires_grad for parameter in teacher.parameters())
    answers = teacher_answers(teacher, torch.rand(1, 3, 128, 128) * 255)
    assert answers.deltas.shape[:2] == answers.face_probability.shape
    assert float(answers.face_probability.min()) >= 0 and float(answers.face_probability.max()) <= 1


@pytest.fixture(scope="module")
def started_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny one-epoch run whose best.pt is the starting point of the distillation runs."""
    data = _write_voc(tmp_path_factory.mktemp("voc") / "faces")
    run_dir = tmp_path_factory.mktemp("run") / "start"
    train(_config(run_dir, data), log=lambda message: None)
    return data, run_dir / "best.pt"


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
    with pytest.raises(TrainingSetupError, match="FaceBoxes only"):
        train(_config(tmp_path / "b", data, family="ainnoface", init_from=str(start), distill_weight=1.0),
              log=lambda message: None)
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
