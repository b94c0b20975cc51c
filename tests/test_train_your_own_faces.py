"""The "train on your own faces" workflow through the CLI: data errors, the install hint, export's
target, and a 1-epoch smoke run from a YOLO folder to ``track --detector``."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli
from label_layouts import write_voc, write_yolo
from test_reliability_faults import make_clip

from detectors import BUILTIN_DETECTORS, WEIGHTS_DIR

torch = pytest.importorskip("torch")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shipped_digests() -> dict[str, str]:
    return {name: _digest(WEIGHTS_DIR / file) for name, file in BUILTIN_DETECTORS.items()}


def _one_line_error(run, fragment: str) -> str:  # noqa: ANN001 - a cli_helpers.CliRun
    assert run.code == 2, run.stderr
    assert run.stderr.count("error:") == 1, run.stderr
    return run.line(fragment)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """1 epoch at 128 px on 4 generated YOLO-labelled images, evaluated on their VOC twin."""
    root = tmp_path_factory.mktemp("own-faces")
    train_set, dev_set = write_yolo(root / "yolo"), write_voc(root / "voc")
    run_dir = root / "runs" / "shop"
    run = run_cli("train", "--run-dir", run_dir, "--train-set", train_set, "--dev-set", dev_set, "--variant", "small",
                  "--epochs", "1", "--batch-size", "2", "--image-size", "128", "--workers", "0", "--threads", "1",
                  "--fp32")
    return run_dir, run


def test_smoke_run_leaves_the_plot_and_a_model_track_loads(smoke_run: tuple[Path, object], tmp_path: Path) -> None:
    run_dir, run = smoke_run
    assert run.code == 0, run.stderr
    assert {"best.pt", "last.pt", "log.jsonl", "training.png"} <= {path.name for path in run_dir.iterdir()}
    assert (run_dir / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "AP 16-32" in run.line("epoch")  # the header of the per-epoch table
    shipped = _shipped_digests()
    exported = run_cli("export", run_dir / "best.pt")
    assert exported.code == 0, exported.stderr
    model = run_dir / "model.onnx"
    assert model.is_file() and _shipped_digests() == shipped
    tracked = run_cli(make_clip(tmp_path / "clip.mp4", frames=5), "--detector", model, "-o", tmp_path / "out",
                      "--no-video", "--no-report", "--workers", "1")
    assert tracked.code == 0, tracked.stderr
    assert tracked.line("detector faceboxes-small") == f"detector faceboxes-small ({model}) on CPUExecutionProvider"


def test_export_never_replaces_an_existing_file_without_overwrite(
    smoke_run: tuple[Path, object], tmp_path: Path
) -> None:
    run_dir, _ = smoke_run
    target = tmp_path / "mine.onnx"
    target.write_bytes(b"keep me")
    refused = run_cli("export", run_dir / "best.pt", "-o", target)
    assert "--overwrite" in _one_line_error(refused, "exists")
    assert target.read_bytes() == b"keep me"
    shipped = WEIGHTS_DIR / BUILTIN_DETECTORS["faceboxes"]
    before = _digest(shipped)
    assert run_cli("export", run_dir / "best.pt", "-o", shipped).code == 2
    assert _digest(shipped) == before
    replaced = run_cli("export", run_dir / "best.pt", "-o", target, "--overwrite")
    assert replaced.code == 0, replaced.stderr
    assert target.read_bytes() != b"keep me"


def test_evaluate_compares_the_users_model_with_the_shipped_one(smoke_run: tuple[Path, object], tmp_path: Path) -> None:
    run_dir, _ = smoke_run
    model = tmp_path / "compare.onnx"
    assert run_cli("export", run_dir / "best.pt", "-o", model).code == 0
    data = write_yolo(tmp_path / "faces")
    plot = tmp_path / "pr.png"
    run = run_cli("evaluate", data, "--detector", model, "--compare", "faceboxes", "--pr-plot", plot)
    assert run.code == 0, run.stderr
    rows = [line for line in run.stdout.splitlines() if "faceboxes-small" in line]
    assert len(rows) == 2 and str(model) in " ".join(run.stdout.split())
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_train_without_data_says_what_to_give(tmp_path: Path) -> None:
    run = run_cli("train", "--run-dir", tmp_path / "new-run")
    assert "--train-set FOLDER" in _one_line_error(run, "give the training data")
    assert not (tmp_path / "new-run").exists()


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_an_unreadable_folder_is_one_line_saying_what_was_looked_for(tmp_path: Path, command: str) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "frame.jpg").write_bytes(b"")
    args = ["--run-dir", tmp_path / "run", "--train-set", photos] if command == "train" else [photos]
    line = _one_line_error(run_cli(command, *args), "looked for")
    assert all(layout in line for layout in ("annotations/*.xml", "labels/*.txt", "wider_face_*_bbx_gt.txt"))


def test_the_install_hint_keeps_its_brackets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "detectors.training.train", None)  # as if torch were missing
    run = run_cli("train", "--run-dir", tmp_path / "run", "--train-set", tmp_path)
    assert "pip install -e '.[train]'" in _one_line_error(run, "training needs torch")


def test_the_shipped_weights_become_a_checkpoint_calibrated_on_the_users_yolo_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Step 1 of the README's example takes the user's folder in any layout, and nothing else by default."""
    torch = pytest.importorskip("torch")
    from detectors.training.onnx_weights import main as onnx_weights

    output = tmp_path / "runs" / "shipped.pt"
    shipped = str(WEIGHTS_DIR / BUILTIN_DETECTORS["faceboxes"])
    onnx_weights([shipped, "-o", str(output), "--calibrate-on", str(write_yolo(tmp_path / "yolo")),
                  "--calibration-images", "4", "--calibration-size", "128"])
    assert torch.load(output, weights_only=True)["config"]["family"] == "faceboxes"
    with pytest.raises(SystemExit) as missing:  # no developer folder as a silent default
        onnx_weights([shipped, "-o", str(output)])
    assert missing.value.code == 2
    with pytest.raises(SystemExit) as unreadable:
        onnx_weights([shipped, "-o", str(output), "--calibrate-on", str(tmp_path / "nothing-here")])
    assert unreadable.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: ")
