"""Smoke tests of the resumable training loop on a tiny synthetic VOC folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from detectors.training.train import SELECTION_BUCKETS, TrainConfig, selection_score, train

#: Face sizes covering the three buckets of the selection score (>=64, 32-64, 16-32).
FACES = ((10, 10, 80), (100, 20, 40), (120, 100, 24))


def _write_voc(folder: Path, faces: tuple = FACES, count: int = 4) -> Path:
    (folder / "images").mkdir(parents=True)
    (folder / "annotations").mkdir()
    rng = np.random.default_rng(0)
    for index in range(count):
        image = rng.integers(0, 60, (160, 192, 3), dtype=np.uint8)
        objects = []
        for x, y, side in faces:
            cv2.rectangle(image, (x, y), (x + side - 1, y + side - 1), (160, 180, 210), -1)
            objects.append(
                f"<object><name>face</name><difficult>0</difficult><bndbox><xmin>{x}</xmin><ymin>{y}</ymin>"
                f"<xmax>{x + side}</xmax><ymax>{y + side}</ymax></bndbox></object>"
            )
        cv2.imwrite(str(folder / "images" / f"img{index}.jpg"), image)
        (folder / "annotations" / f"img{index}.xml").write_text(f"<annotation>{''.join(objects)}</annotation>")
    return folder


def _config(run_dir: Path, data: Path, **overrides: object) -> TrainConfig:
    values: dict[str, object] = {
        "run_dir": str(run_dir),
        "variant": "small",
        "train_sets": [str(data)],
        "dev_set": str(data),
        "epochs": 1,
        "batch_size": 2,
        "image_size": 128,
        "max_batches": 2,
        "dev_limit": 2,
        "eval_every": 1,
        "workers": 0,
        "threads": 1,
    }
    values.update(overrides)
    return TrainConfig(**values)  # type: ignore[arg-type]


def _log_records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def voc_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_voc(tmp_path_factory.mktemp("voc") / "faces")


@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory: pytest.TempPathFactory, voc_data: Path) -> tuple[Path, list[str]]:
    messages: list[str] = []
    run_dir = tmp_path_factory.mktemp("run") / "faceboxes"
    assert train(_config(run_dir, voc_data), log=messages.append) == run_dir
    return run_dir, messages


def test_one_epoch_writes_checkpoints_and_log(one_epoch_run: tuple[Path, list[str]]) -> None:
    run_dir, messages = one_epoch_run
    assert sorted(path.name for path in run_dir.iterdir()) == ["best.pt", "last.pt", "log.jsonl", "training.png"]
    (record,) = _log_records(run_dir)
    assert record["epoch"] == 0
    assert math.isfinite(record["cls_loss"]) and record["cls_loss"] > 0
    assert math.isfinite(record["loc_loss"]) and record["loc_loss"] > 0
    assert set(record["dev_ap"]) == {"all", ">=64", "32-64", "16-32", "<16"}
    for name in SELECTION_BUCKETS:
        assert 0.0 <= record["dev_ap"][name] <= 1.0
    assert 0.0 <= record["selection_score"] <= 1.0
    assert not any(message.startswith("resumed") for message in messages)
    assert json.loads(messages[-1])["epoch"] == 0


def test_checkpoints_load_with_weights_only(one_epoch_run: tuple[Path, list[str]]) -> None:
    from detectors.faceboxes.model import build_faceboxes

    run_dir, _ = one_epoch_run
    last = torch.load(run_dir / "last.pt", weights_only=True)
    assert set(last) == {"model", "optimizer", "epoch", "best_score", "config"}
    assert last["epoch"] == 0
    assert last["config"]["variant"] == "small" and last["config"]["image_size"] == 128
    assert last["config"]["das_probability"] == 0.0  # FaceBoxes' default, resolved and recorded
    assert last["best_score"] == pytest.approx(_log_records(run_dir)[0]["selection_score"], abs=1e-4)
    best = torch.load(run_dir / "best.pt", weights_only=True)
    assert best["epoch"] == 0
    logged = _log_records(run_dir)[0]["dev_ap"]
    assert set(best["dev_ap"]) == set(logged)
    for name, value in logged.items():  # NaN for the bucket without dev faces (<16)
        assert value == best["dev_ap"][name] or (math.isnan(value) and math.isnan(best["dev_ap"][name]))
    model = build_faceboxes("small")
    model.load_state_dict(best["model"])
    model.load_state_dict(last["model"])


def test_exported_checkpoint_runs_in_the_runtime(one_epoch_run: tuple[Path, list[str]], tmp_path: Path) -> None:
    from detectors import load_detector
    from detectors.training.export import export_checkpoint

    run_dir, _ = one_epoch_run
    path = export_checkpoint(run_dir / "best.pt", tmp_path / "exported.onnx", {"note": "smoke"})
    detector = load_detector(path, score_threshold=0.5, threads=1)
    assert detector.name == "faceboxes-small"
    detections = detector.detect(np.zeros((160, 192, 3), np.uint8))
    assert detections.ndim == 2 and detections.shape[1] == 5 and detections.dtype == np.float32


def test_export_command_stores_the_recommended_settings(one_epoch_run: tuple[Path, list[str]], tmp_path: Path) -> None:
    from cli_helpers import run_cli

    from detectors import load_detector

    run_dir, _ = one_epoch_run
    output = tmp_path / "recommended.onnx"
    result = run_cli("export", str(run_dir / "best.pt"), "--output", str(output), "--threshold", "0.45",
                     "--low-threshold", "0.2", "--min-side", "320", "--vote-max-size", "48")
    assert result.code == 0, result.stderr
    detector = load_detector(output, threads=1)
    assert (detector.score_threshold, detector.recommended_low_threshold) == (0.45, 0.2)
    assert detector.recommended_min_side == 320 and detector.post.vote_max_size == 48.0
    chosen = load_detector(output, threads=1, score_threshold=0.7)
    assert chosen.score_threshold == 0.7 and chosen.post.vote_max_size == 48.0  # the user's threshold, the model's voting


def test_kept_epochs_average_into_an_exportable_checkpoint(voc_data: Path, tmp_path: Path) -> None:
    from detectors import load_detector
    from detectors.training.average import average_checkpoints
    from detectors.training.families import export_trained

    run_dir = tmp_path / "run"
    train(_config(run_dir, voc_data, epochs=2, keep_epochs=True, eval_every=2), log=lambda _: None)
    kept = sorted(run_dir.glob("epoch_*.pt"))
    assert [path.name for path in kept] == ["epoch_000.pt", "epoch_001.pt"]
    last = torch.load(run_dir / "last.pt", weights_only=True)
    assert all(torch.equal(last["model"][name], tensor)
               for name, tensor in torch.load(kept[1], weights_only=True)["model"].items())
    torch.save(average_checkpoints(kept), tmp_path / "average.pt")
    exported = export_trained(tmp_path / "average.pt", tmp_path / "average.onnx")
    assert load_detector(exported, threads=1).detect(np.zeros((96, 128, 3), np.uint8)).shape[1] == 5


class _Interrupted(Exception):
    pass


def test_resume_after_an_interruption(voc_data: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    config = _config(run_dir, voc_data, epochs=2)

    def stop_after_first_epoch(message: str) -> None:
        raise _Interrupted(message)

    with pytest.raises(_Interrupted):
        train(config, log=stop_after_first_epoch)
    assert [record["epoch"] for record in _log_records(run_dir)] == [0]
    assert torch.load(run_dir / "last.pt", weights_only=True)["epoch"] == 0

    messages: list[str] = []
    train(config, log=messages.append)
    assert messages[0] == f"resumed from {run_dir / 'last.pt'} at epoch 1"
    assert [record["epoch"] for record in _log_records(run_dir)] == [0, 1]
    assert torch.load(run_dir / "last.pt", weights_only=True)["epoch"] == 1

    # a finished run resumes past its last epoch and trains no more
    messages.clear()
    train(config, log=messages.append)
    assert messages == [f"resumed from {run_dir / 'last.pt'} at epoch 2"]
    assert len(_log_records(run_dir)) == 2


def test_resume_with_more_epochs_continues_training(voc_data: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train(_config(run_dir, voc_data, epochs=1), log=lambda message: None)
    messages: list[str] = []
    train(_config(run_dir, voc_data, epochs=2), log=messages.append)
    assert messages[0] == f"resumed from {run_dir / 'last.pt'} at epoch 1"
    assert [record["epoch"] for record in _log_records(run_dir)] == [0, 1]


def test_selection_score_is_the_mean_of_the_selection_buckets() -> None:
    results = {"all": {"ap": 0.9}, ">=64": {"ap": 0.9}, "32-64": {"ap": 0.6}, "16-32": {"ap": 0.3}, "<16": {"ap": 0.0}}
    assert selection_score(results) == pytest.approx(0.6)


def test_best_checkpoint_when_a_bucket_has_no_dev_faces(tmp_path: Path) -> None:
    data = _write_voc(tmp_path / "big_faces", faces=((10, 10, 80), (100, 40, 70)), count=2)
    run_dir = tmp_path / "run"
    train(_config(run_dir, data), log=lambda message: None)
    (record,) = _log_records(run_dir)
    assert record["dev_ap"]["16-32"] is None  # no 16-32 px faces in this dev set: null in the JSON log
    assert math.isfinite(record["selection_score"])
    assert (run_dir / "best.pt").exists()


def test_load_matching_weights_copies_the_shared_backbone_between_variants() -> None:
    import torch

    from detectors.faceboxes.model import build_faceboxes
    from detectors.training.train import load_matching_weights

    torch.manual_seed(0)
    source, target = build_faceboxes("small2"), build_faceboxes("paper")
    before = {name: tensor.clone() for name, tensor in target.state_dict().items()}
    loaded, skipped = load_matching_weights(target, source.state_dict())
    after = target.state_dict()
    assert loaded > 0 and skipped
    for name, tensor in after.items():
        if name in skipped:
            assert torch.equal(tensor, before[name])  # left as initialised
        else:
            assert torch.equal(tensor, source.state_dict()[name])
    assert any(name.startswith("backbone") for name in after if name not in skipped)


def test_ainnoface_run_records_its_family_defaults(voc_data: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "ainnoface"
    train(_config(run_dir, voc_data, family="ainnoface", variant=None, max_batches=1, dev_limit=1), log=lambda _: None)
    config = torch.load(run_dir / "last.pt", weights_only=True)["config"]
    assert config["variant"] == "small" and config["das_probability"] == 0.5


def test_weight_average_is_evaluated_kept_and_resumed(voc_data: Path, tmp_path: Path) -> None:
    from detectors.training.export import export_checkpoint

    run_dir = tmp_path / "run"
    train(_config(run_dir, voc_data, ema_decay=0.9), log=lambda _: None)
    last = torch.load(run_dir / "last.pt", weights_only=True)
    best = torch.load(run_dir / "best.pt", weights_only=True)
    assert last["ema"]["updates"] == 2  # one per optimiser step (max_batches=2)
    average, raw = last["ema"]["model"], last["model"]
    assert not all(torch.equal(average[name], raw[name]) for name in raw)
    for name, tensor in best["model"].items():  # best.pt stores the evaluated (averaged) weights
        assert torch.equal(tensor, average[name])
    # exporting last.pt also uses the average, the weights the dev AP was measured on
    exported = export_checkpoint(run_dir / "last.pt", tmp_path / "last.onnx")
    assert exported.exists()

    messages: list[str] = []
    train(_config(run_dir, voc_data, ema_decay=0.9, epochs=2), log=messages.append)
    assert messages[0] == f"resumed from {run_dir / 'last.pt'} at epoch 1"
    assert torch.load(run_dir / "last.pt", weights_only=True)["ema"]["updates"] == 4
