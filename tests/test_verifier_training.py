"""The face verifier's training pieces on tiny synthetic data: mining, one short training, threshold, export."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from detectors.datasets import read_face_folder  # noqa: E402
from detectors.verification import FaceVerifier, crops_to_batch, touches_frame_edge  # noqa: E402
from detectors.verifier.samples import (  # noqa: E402
    EDGE_CUT_KEPT,
    JITTERED_COPIES,
    CropSet,
    edge_cut_view,
    is_held_out,
    jittered_boxes,
    mine_face_free_images,
    mine_featureless,
    mine_labelled,
    split_detections,
)
from detectors.verifier.train import (  # noqa: E402
    HELD_OUT_KEEP,
    LARGE_FACE_SIDE,
    MAX_THRESHOLD,
    VerifierTraining,
    balanced_order,
    choose_threshold,
    export_verifier,
    face_free_or_load,
    load_or_mine,
    positive_weights,
    shuffle_colours,
    train_and_export,
    train_verifier,
    true_detection_rows,
)
from tests.label_layouts import FACES, write_voc  # noqa: E402


def write_mined_cache(run_dir: Path, rng: np.random.Generator, with_sides: bool, count: int = 64,
                      side: int = 32) -> dict[str, np.ndarray]:
    """Write ``run_dir/mined.npz`` as a run reuses it: ``count`` "faces" (a bright square) and as many
    dark noise crops of ``side`` px, a quarter held out; returns the arrays."""
    faces = np.full((count, side, side, 3), 40, np.uint8)
    faces[:, side // 4 : 3 * side // 4, side // 4 : 3 * side // 4] = 200
    cached = {"crops": np.concatenate([faces, rng.integers(0, 80, (count, side, side, 3), dtype=np.uint8)]),
              "labels": np.array([1] * count + [0] * count), "held_out": np.arange(2 * count) % 4 == 0,
              "sources": np.array(["detection fake"] * (2 * count)), "scores": np.full(2 * count, 0.9, np.float32)}
    if with_sides:
        cached["sides"] = rng.uniform(16, 128, 2 * count).astype(np.float32)
    run_dir.mkdir(parents=True, exist_ok=True)
    np.savez(run_dir / "mined.npz", **cached)
    return cached


def test_split_detections_by_overlap_with_labels_and_ignore_regions() -> None:
    labels = np.array([[0, 0, 40, 40]], np.float32)
    ignore = np.array([[100, 100, 140, 140]], np.float32)
    faces = np.array([[2, 2, 42, 42, 0.9],  # matches the label
                      [20, 0, 60, 40, 0.8],  # IoU 1/3 with it: neither
                      [200, 0, 240, 40, 0.7],  # far from everything: not a face
                      [110, 110, 150, 150, 0.6],  # touches the ignore region: neither
                      [200, 100, 210, 110, 0.9]], np.float32)  # 10 px: too small to judge
    matches, misses = split_detections(faces, labels, ignore)
    np.testing.assert_array_equal(matches, faces[:1])
    np.testing.assert_array_equal(misses, faces[2:3])


def test_jittered_boxes_stay_near_their_face() -> None:
    boxes = np.array([[100, 100, 200, 200]], np.float32)
    jittered = jittered_boxes(boxes, np.random.default_rng(0), copies=50)
    assert jittered.shape == (50, 4)
    sides = jittered[:, 2] - jittered[:, 0]
    assert sides.min() >= 85 - 1e-3 and sides.max() <= 115 + 1e-3
    centres = (jittered[:, :2] + jittered[:, 2:]) / 2
    assert np.abs(centres - 150).max() <= 10 + 1e-3


def test_mining_labels_every_crop(tmp_path: Path) -> None:
    samples = read_face_folder(write_voc(tmp_path / "voc"))
    false_box = np.array([[150, 120, 190, 158, 0.9]], np.float32)

    def detect(image: np.ndarray) -> np.ndarray:  # finds every face of the first image, and one false face
        return false_box

    crops = CropSet()
    mine_labelled(samples, {"fake": detect}, crops)
    mined = crops.arrays()
    labelled = sum(1 for faces in FACES.values() for x1, y1, x2, y2 in faces if (x2 - x1) * (y2 - y1) >= 16**2)
    assert (mined["sources"] == "label").sum() == JITTERED_COPIES * labelled
    assert set(mined["labels"][mined["sources"] == "label"]) == {1}
    assert set(mined["labels"][mined["sources"] == "free"]) == {0}
    assert mined["crops"].shape[1:] == (32, 32, 3) and mined["crops"].dtype == np.uint8
    assert set(mined["held_out"][mined["sources"] == "label"]) <= {is_held_out(sample.stem) for sample in samples}

    before = len(crops.crops)
    mine_featureless(3, {"fake": detect}, crops)
    mined = crops.arrays()
    assert len(mined["labels"]) > before and set(mined["labels"][before:]) == {0}
    assert (mined["sources"] == "featureless detection fake").sum() == 3


def test_threshold_rule() -> None:
    probabilities = np.linspace(0.0, 1.0, 1001)
    assert choose_threshold(probabilities, keep=0.998) == pytest.approx(0.002)
    assert choose_threshold(np.full(10, 0.9)) == MAX_THRESHOLD
    with pytest.raises(ValueError, match="no held-out true detections"):
        choose_threshold(np.zeros(0))
    mined = {"held_out": np.array([True, True, False, True, True]), "labels": np.array([1, 0, 1, 1, 1]),
             "sources": np.array(["detection a", "detection a", "detection b", "label", "detection a"]),
             "scores": np.array([0.9, 0.9, 0.9, np.nan, 0.3])}
    np.testing.assert_array_equal(true_detection_rows(mined), [0])  # not judged: a non-face, fitting, a label, too weak


def test_colour_shuffle_keeps_each_pixels_values() -> None:
    batch = torch.rand(64, 3, 8, 8)
    shuffled = shuffle_colours(batch, torch.Generator().manual_seed(0))
    grey = (shuffled[:, 0] == shuffled[:, 1]).all(dim=(1, 2)) & (shuffled[:, 1] == shuffled[:, 2]).all(dim=(1, 2))
    assert 0 < int(grey.sum()) < 64
    kept = ~grey
    torch.testing.assert_close(shuffled[kept].sort(dim=1).values, batch[kept].sort(dim=1).values)


def test_a_short_training_exports_a_verifier_the_runtime_loads(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    faces = np.full((64, 32, 32, 3), 40, np.uint8)
    faces[:, 8:24, 8:24] = 200  # a bright square: "face"
    others = rng.integers(0, 80, (64, 32, 32, 3), dtype=np.uint8)
    crops, labels = np.concatenate([faces, others]), np.array([1] * 64 + [0] * 64)
    model = train_verifier(crops, labels, VerifierTraining(epochs=3, batch_size=32, threads=1), log=lambda line: None)
    path = export_verifier(model, tmp_path / "verifier.onnx", 0.25, {"note": "test"})
    verifier = FaceVerifier(path, threads=1)
    assert verifier.threshold == pytest.approx(0.25)
    frame = np.full((100, 100, 3), 40, np.uint8)
    frame[40:60, 40:60] = 200
    probabilities = verifier.face_probabilities(frame, np.array([[38, 38, 62, 62], [0, 0, 30, 30]], np.float32))
    assert probabilities.shape == (2,) and np.all((probabilities >= 0) & (probabilities <= 1))
    assert probabilities[0] > probabilities[1]


def test_the_recipe_sets_the_verifier_width() -> None:
    crops = np.random.default_rng(0).integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
    labels = np.array([1, 0] * 4)
    narrow = train_verifier(crops, labels, VerifierTraining(epochs=1, batch_size=8, threads=1), log=lambda line: None)
    wide = train_verifier(crops, labels, VerifierTraining(epochs=1, batch_size=8, threads=1, stage_channels=(24, 48, 96)),
                          log=lambda line: None)
    assert wide.classifier.in_features == 96 and narrow.classifier.in_features == 64
    count = lambda model: sum(parameter.numel() for parameter in model.parameters())  # noqa: E731
    assert 2 * count(narrow) < count(wide)  # 0.061 M against 0.136 M (trial 10)


def test_train_verifier_command_reports_a_missing_folder_in_one_line(tmp_path: Path) -> None:
    from tests.cli_helpers import run_cli

    result = run_cli("train-verifier", "--train-set", tmp_path / "missing", "--run-dir", tmp_path / "run")
    assert result.code == 2
    assert "missing" in result.line("error:") and "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "run").exists()


def test_face_free_images_give_only_non_faces_held_out_by_name(tmp_path: Path) -> None:
    import cv2

    names = [f"empty_{index}" for index in range(12)]
    for name in names:
        cv2.imwrite(str(tmp_path / f"{name}.png"), np.full((120, 160, 3), 90, np.uint8))
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    boxes = np.array([[10, 10, 50, 50, 0.7], [60, 60, 70, 70, 0.9]], np.float32)  # the second is too small to judge
    crops = CropSet()
    paths = sorted(tmp_path.iterdir())
    assert mine_face_free_images(paths, {"fake": lambda image: boxes}, crops) == len(names)
    mined = crops.arrays()
    assert set(mined["labels"]) == {0}
    detections = mined["sources"] == "face-free detection fake"
    assert detections.sum() == len(names) and np.all(mined["scores"][detections] == np.float32(0.7))
    assert (mined["sources"] == "face-free free").sum() > 0
    assert sorted(mined["held_out"][detections]) == sorted(is_held_out(name) for name in names)


def test_a_negative_image_folder_without_images_is_refused_before_mining(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image in"):
        face_free_or_load(tmp_path / "empty", tmp_path / "run" / "face_free.npz")
    assert not (tmp_path / "run").exists()


def test_train_verifier_command_refuses_an_empty_negative_folder_in_one_line(tmp_path: Path) -> None:
    from tests.cli_helpers import run_cli

    train_set = write_voc(tmp_path / "voc")
    (tmp_path / "empty").mkdir()
    result = run_cli("train-verifier", "--train-set", train_set, "--run-dir", tmp_path / "run",
                     "--negative-images", tmp_path / "empty")
    assert result.code == 2
    assert "--negative-images" in result.line("error:") and "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "run").exists()


def test_negative_images_are_mined_once_and_trained_on(tmp_path: Path) -> None:
    import cv2
    import onnx

    rng = np.random.default_rng(0)
    run_dir = tmp_path / "run"
    cached = write_mined_cache(run_dir, rng, with_sides=False)  # as mined before crops kept their sizes
    negatives = tmp_path / "empty scenes"
    negatives.mkdir()
    for index in range(3):
        cv2.imwrite(str(negatives / f"scene_{index}.png"), rng.integers(0, 255, (200, 240, 3), dtype=np.uint8))
    lines: list[str] = []
    output = train_and_export(tmp_path / "unused", run_dir, tmp_path / "verifier.onnx",
                              VerifierTraining(epochs=1, batch_size=32, threads=1), log=lines.append,
                              negative_images=negatives)
    with np.load(run_dir / "face_free.npz") as mined:
        assert len(mined["labels"]) > 0 and set(mined["labels"]) == {0}
        assert {"face-free free"} <= set(mined["sources"].tolist())
    assert not any("have no size" in line for line in lines)  # said only when large faces are weighted
    fitted = int(next(line for line in lines if "crops to fit" in line).split()[0])
    assert fitted > int((~cached["held_out"]).sum())  # the face-free crops joined the fitting split
    metadata = {entry.key: entry.value for entry in onnx.load(str(output)).metadata_props}
    assert metadata["negative_images"] == str(negatives)


def test_crops_keep_the_size_of_their_box(tmp_path: Path) -> None:
    crops = CropSet()
    frame = np.zeros((200, 200, 3), np.uint8)
    crops.add(frame, np.array([[0, 0, 40, 40], [10, 10, 110, 74]], np.float32), 1, False, "label")
    crops.add(frame, np.zeros((0, 4), np.float32), 0, False, "free")
    np.testing.assert_allclose(crops.arrays()["sides"], [40, 80])


def test_extra_positives_give_only_faces_with_their_sizes(tmp_path: Path) -> None:
    samples = read_face_folder(write_voc(tmp_path / "voc"))
    far_from_faces = np.array([[150, 120, 190, 158, 0.9]], np.float32)
    crops = CropSet()
    mine_labelled(samples, {"fake": lambda image: far_from_faces}, crops, faces_only=True)
    mined = crops.arrays()
    labelled = [np.sqrt((x2 - x1) * (y2 - y1)) for faces in FACES.values() for x1, y1, x2, y2 in faces
                if (x2 - x1) * (y2 - y1) >= 16**2]
    assert set(mined["labels"]) == {1} and set(mined["sources"]) == {"extra label"}  # the false face is left out
    assert len(mined["sides"]) == JITTERED_COPIES * len(labelled)
    assert mined["sides"].min() >= 0.85 * min(labelled) - 1e-3 and mined["sides"].max() <= 1.15 * max(labelled) + 1e-3


def test_large_faces_are_drawn_as_often_as_their_weight_says() -> None:
    labels = np.array([1] * 200 + [0] * 200)
    sides = np.array([32.0] * 100 + [LARGE_FACE_SIDE] * 50 + [np.nan] * 50 + [300.0] * 200)
    weights = positive_weights(sides, 4.0)
    assert set(weights[:100]) == {1.0} and set(weights[100:150]) == {4.0} and set(weights[150:200]) == {1.0}
    rng = np.random.default_rng(0)
    drawn = np.concatenate([balanced_order(labels, rng, weights) for _ in range(50)])
    faces = drawn[drawn < 200]
    assert len(faces) == len(drawn) // 2  # still half faces, half non-faces
    large_share = np.isin(faces, np.arange(100, 150)).mean()
    assert abs(large_share - 200 / 350) < 0.02  # 50 large faces x 4 against 150 others x 1
    uniform = np.concatenate([balanced_order(labels, rng) for _ in range(50)])
    assert abs(np.isin(uniform, np.arange(100, 150)).mean() * 2 - 0.25) < 0.02


def test_weighting_large_faces_needs_the_crop_sizes() -> None:
    crops = np.zeros((4, 32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="sizes"):
        train_verifier(crops, np.array([1, 0, 1, 0]), VerifierTraining(epochs=1, large_face_weight=4.0), log=lambda line: None)


def test_extra_positives_join_training_and_are_named_in_the_model(tmp_path: Path) -> None:
    import onnx

    from tests.cli_helpers import run_cli

    run_dir = tmp_path / "run"
    write_mined_cache(run_dir, np.random.default_rng(1), with_sides=True)
    extra = write_voc(tmp_path / "machine labelled")
    result = run_cli("train-verifier", "--train-set", tmp_path / "unused", "--run-dir", run_dir,
                     "--output", tmp_path / "verifier.onnx", "--epochs", "1", "--featureless-frames", "0",
                     "--extra-positives", extra, "--large-face-weight", "4", "--threads", "1")
    assert result.code == 0, result.stderr + result.stdout
    with np.load(run_dir / "extra_positives.npz") as mined:
        assert len(mined["labels"]) > 0 and set(mined["labels"]) == {1}
    metadata = {entry.key: entry.value for entry in onnx.load(str(tmp_path / "verifier.onnx")).metadata_props}
    assert metadata["extra_positives"] == str(extra) and metadata["large_face_weight"] == "4"


def test_weighting_large_faces_says_when_cached_faces_have_no_size(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_mined_cache(run_dir, np.random.default_rng(2), with_sides=False)
    lines: list[str] = []
    train_and_export(tmp_path / "unused", run_dir, tmp_path / "verifier.onnx",
                     VerifierTraining(epochs=1, batch_size=32, threads=1, large_face_weight=4.0), log=lines.append)
    assert any(line.startswith("64 face crops have no size") for line in lines)


def test_an_averaged_verifier_gives_the_mean_of_its_members_logits() -> None:
    from detectors.verifier.model import AveragedVerifier, FaceVerifierNet

    torch.manual_seed(0)
    members = [FaceVerifierNet((8, 8, 8)).eval() for _ in range(3)]
    crops = torch.rand(5, 3, 32, 32)
    with torch.no_grad():
        expected = torch.cat([member(crops) for member in members], dim=1).mean(dim=1, keepdim=True)
        np.testing.assert_allclose(AveragedVerifier(members).eval()(crops).numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="at least one"):
        AveragedVerifier([])


def test_members_are_trained_with_their_own_seeds_reused_and_exported_as_their_mean(tmp_path: Path) -> None:
    import onnx

    from detectors.verifier.model import FaceVerifierNet

    run_dir = tmp_path / "run"
    cached = write_mined_cache(run_dir, np.random.default_rng(3), with_sides=True)
    recipe = VerifierTraining(epochs=1, batch_size=32, threads=1, stage_channels=(8, 8, 8), members=2, seed=5)
    output = train_and_export(tmp_path / "unused", run_dir, tmp_path / "verifier.onnx", recipe, log=lambda line: None)
    saved = [torch.load(run_dir / f"verifier-seed{seed}.pt", weights_only=True) for seed in (5, 6)]
    assert [entry["recipe"]["seed"] for entry in saved] == [5, 6]
    assert not torch.equal(saved[0]["weights"]["classifier.weight"], saved[1]["weights"]["classifier.weight"])
    metadata = {entry.key: entry.value for entry in onnx.load(str(output)).metadata_props}
    assert metadata["members"] == "2" and metadata["stage_channels"] == "8,8,8"
    members = []
    for entry in saved:
        member = FaceVerifierNet((8, 8, 8))
        member.load_state_dict(entry["weights"])
        members.append(member.eval())
    crops = cached["crops"][:6]
    with torch.no_grad():
        batch = torch.from_numpy(crops_to_batch(crops))
        expected = torch.sigmoid(torch.stack([member(batch) for member in members]).mean(dim=0)).squeeze(1).numpy()
    session = FaceVerifier(output).session
    (logits,) = session.run(None, {session.get_inputs()[0].name: crops_to_batch(crops)})
    np.testing.assert_allclose(1.0 / (1.0 + np.exp(-logits.reshape(-1))), expected, rtol=1e-4, atol=1e-5)
    lines: list[str] = []
    train_and_export(tmp_path / "unused", run_dir, tmp_path / "again.onnx", recipe, log=lines.append)
    assert sum(line.startswith("reusing the trained weights") for line in lines) == 2
    with pytest.raises(ValueError, match="stage channels"):
        train_and_export(tmp_path / "unused", run_dir, tmp_path / "other.onnx", replace(recipe, stage_channels=(16, 32, 64)),
                         log=lambda line: None)


def test_train_verifier_command_trains_members_of_the_width_asked_for(tmp_path: Path) -> None:
    import onnx

    from tests.cli_helpers import run_cli

    run_dir = tmp_path / "run"
    write_mined_cache(run_dir, np.random.default_rng(4), with_sides=True)
    common = ("train-verifier", "--train-set", tmp_path / "unused", "--run-dir", run_dir, "--output",
              tmp_path / "verifier.onnx", "--epochs", "1", "--featureless-frames", "0", "--threads", "1")
    refused = run_cli(*common, "--stage-channels", "8,8")
    assert refused.code == 2 and "--stage-channels" in refused.line("error:")
    assert "Traceback" not in refused.stderr + refused.stdout
    result = run_cli(*common, "--stage-channels", "8,12,16", "--members", "2")
    assert result.code == 0, result.stderr + result.stdout
    assert sorted(path.name for path in run_dir.glob("*.pt")) == ["verifier-seed0.pt", "verifier-seed1.pt"]
    metadata = {entry.key: entry.value for entry in onnx.load(str(tmp_path / "verifier.onnx")).metadata_props}
    assert metadata["members"] == "2" and metadata["stage_channels"] == "8,12,16"


def test_an_edge_cut_face_keeps_part_of_the_face_and_touches_the_new_frame_edge() -> None:
    image = np.arange(300 * 400 * 3, dtype=np.uint32).reshape(300, 400, 3).astype(np.uint8)
    box = np.array([100, 80, 200, 200], np.float32)
    rng = np.random.default_rng(0)
    sides = set()
    for _ in range(40):
        view, cut = edge_cut_view(image, box, rng)
        height, width = view.shape[:2]
        assert touches_frame_edge(cut[None], height, width)[0]
        assert 0 <= cut[0] < cut[2] <= width and 0 <= cut[1] < cut[3] <= height
        kept = (cut[2] - cut[0]) / 100 if width < 400 else (cut[3] - cut[1]) / 120
        assert EDGE_CUT_KEPT[0] - 0.02 <= kept <= EDGE_CUT_KEPT[1] + 0.02
        if width < 400:  # cut by a vertical edge: the view is the image's left or right part
            sides.add("left" if cut[0] == 0 else "right")
            offset = 400 - width if cut[0] == 0 else 0
            np.testing.assert_array_equal(view, image[:, offset:offset + width])
        else:
            sides.add("top" if cut[1] == 0 else "bottom")
            offset = 300 - height if cut[1] == 0 else 0
            np.testing.assert_array_equal(view, image[offset:offset + height])
    assert sides == {"left", "right", "top", "bottom"}


def test_edge_cut_faces_join_training_and_let_the_model_judge_the_frame_edge(tmp_path: Path) -> None:
    import onnx

    from tests.cli_helpers import run_cli

    run_dir = tmp_path / "run"
    write_mined_cache(run_dir, np.random.default_rng(5), with_sides=True)
    common = ("train-verifier", "--train-set", write_voc(tmp_path / "voc"), "--run-dir", run_dir, "--epochs", "1",
              "--featureless-frames", "0", "--threads", "1")
    plain = run_cli(*common, "--output", tmp_path / "plain.onnx")
    assert plain.code == 0, plain.stderr + plain.stdout
    assert not (run_dir / "edge_cut_faces.npz").exists() and not FaceVerifier(tmp_path / "plain.onnx").judges_frame_edge
    result = run_cli(*common, "--output", tmp_path / "edge.onnx", "--edge-cut-faces")
    assert result.code == 0, result.stderr + result.stdout
    with np.load(run_dir / "edge_cut_faces.npz") as mined:
        assert len(mined["labels"]) > 0 and set(mined["labels"]) == {1} and set(mined["sources"]) == {"edge label"}
    metadata = {entry.key: entry.value for entry in onnx.load(str(tmp_path / "edge.onnx")).metadata_props}
    assert metadata["edge_cut_faces"] == "1" and FaceVerifier(tmp_path / "edge.onnx").judges_frame_edge


def write_voc_with_held_out_image(folder: Path) -> Path:
    """:func:`write_voc` plus a copy of its first image under a name the held-out split takes (its four
    images are all in the fitting split)."""
    voc = write_voc(folder)
    stem = next(iter(FACES))
    held_out_stem = next(name for name in (f"held-{index}" for index in range(100)) if is_held_out(name))
    for subfolder, suffix in (("images", ".jpg"), ("annotations", ".xml")):
        shutil.copy(voc / subfolder / f"{stem}{suffix}", voc / subfolder / f"{held_out_stem}{suffix}")
    return voc


def test_calibrate_edge_sets_an_edge_threshold_from_held_out_edge_cut_faces_without_fitting_them(tmp_path: Path) -> None:
    from tests.cli_helpers import run_cli

    voc = write_voc_with_held_out_image(tmp_path / "voc")
    for run_dir in (tmp_path / "plain", tmp_path / "calibrated"):
        write_mined_cache(run_dir, np.random.default_rng(7), with_sides=True)
    common = ("train-verifier", "--train-set", voc, "--epochs", "1", "--featureless-frames", "0", "--threads", "1")
    plain = run_cli(*common, "--run-dir", tmp_path / "plain", "--output", tmp_path / "plain.onnx")
    assert plain.code == 0, plain.stderr + plain.stdout
    assert FaceVerifier(tmp_path / "plain.onnx").edge_threshold is None
    calibrated = run_cli(*common, "--run-dir", tmp_path / "calibrated", "--output", tmp_path / "calibrated.onnx",
                         "--calibrate-edge")
    assert calibrated.code == 0, calibrated.stderr + calibrated.stdout
    with np.load(tmp_path / "calibrated" / "edge_cut_faces.npz") as mined:
        held_out_cuts = mined["crops"][mined["held_out"]]
    assert len(held_out_cuts) > 0
    verifiers = FaceVerifier(tmp_path / "plain.onnx"), FaceVerifier(tmp_path / "calibrated.onnx")

    def probabilities(verifier: FaceVerifier, crops: np.ndarray) -> np.ndarray:
        (logits,) = verifier.session.run(None, {verifier.session.get_inputs()[0].name: crops_to_batch(crops)})
        return 1.0 / (1.0 + np.exp(-logits.reshape(-1)))

    # the edge-cut faces were not fitted on: the same seed trains the same network as without them
    np.testing.assert_allclose(probabilities(verifiers[0], held_out_cuts), probabilities(verifiers[1], held_out_cuts),
                               atol=1e-5)
    expected = min(np.quantile(probabilities(verifiers[1], held_out_cuts), 1 - HELD_OUT_KEEP), verifiers[1].threshold)
    assert verifiers[1].edge_threshold == pytest.approx(expected, abs=1e-5)
    assert verifiers[1].threshold == pytest.approx(verifiers[0].threshold, abs=1e-5)
    both = run_cli(*common, "--run-dir", tmp_path / "calibrated", "--output", tmp_path / "both.onnx",
                   "--calibrate-edge", "--edge-cut-faces")
    assert both.code == 2 and "edge" in both.line("error:")
    # without a held-out image there is nothing to calibrate on: refused before any training
    write_mined_cache(tmp_path / "no-held-out", np.random.default_rng(7), with_sides=True)
    lacking = run_cli("train-verifier", "--train-set", write_voc(tmp_path / "voc-fit-only"), "--run-dir",
                      tmp_path / "no-held-out", "--output", tmp_path / "lacking.onnx", "--epochs", "1",
                      "--featureless-frames", "0", "--threads", "1", "--calibrate-edge")
    assert lacking.code == 2 and "no held-out edge-cut faces" in lacking.line("error:")
    assert not list((tmp_path / "no-held-out").glob("verifier-seed*.pt"))


def test_crops_are_mined_at_the_verifiers_size_and_a_cache_of_another_size_is_refused(tmp_path: Path) -> None:
    image = np.random.default_rng(1).integers(0, 255, (100, 120, 3), dtype=np.uint8)
    cache = tmp_path / "run" / "mined.npz"
    mined = load_or_mine(cache, lambda crops: crops.add(image, np.array([[10, 10, 60, 70]], np.float32), 1, False, "label"),
                         crop_size=48)
    assert mined["crops"].shape == (1, 48, 48, 3) and CropSet(crop_size=48).arrays()["crops"].shape == (0, 48, 48, 3)
    assert load_or_mine(cache, lambda crops: None, crop_size=48)["crops"].shape == (1, 48, 48, 3)
    with pytest.raises(ValueError, match="48 px crops, not 32 px"):
        load_or_mine(cache, lambda crops: None)


def test_a_verifier_can_judge_larger_crops(tmp_path: Path) -> None:
    from tests.cli_helpers import run_cli

    run_dir = tmp_path / "run"
    write_mined_cache(run_dir, np.random.default_rng(8), with_sides=True, side=48)
    common = ("train-verifier", "--train-set", tmp_path / "unused", "--run-dir", run_dir, "--epochs", "1",
              "--featureless-frames", "0", "--threads", "1", "--stage-channels", "8,12,16")
    result = run_cli(*common, "--crop-size", "48", "--output", tmp_path / "large.onnx")
    assert result.code == 0, result.stderr + result.stdout
    verifier = FaceVerifier(tmp_path / "large.onnx")
    assert verifier.crop_size == 48
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    probabilities = verifier.face_probabilities(frame, np.array([[20, 20, 80, 90]], np.float32))
    assert probabilities.shape == (1,) and 0.0 <= probabilities[0] <= 1.0
    mixed = run_cli(*common, "--output", tmp_path / "small.onnx")  # 32 px, but the run folder's crops are 48
    assert mixed.code == 2 and "48 px crops, not 32 px" in mixed.line("error:")


def test_members_can_start_from_an_earlier_runs_networks(tmp_path: Path) -> None:
    from tests.cli_helpers import run_cli

    earlier, later, fresh_run = tmp_path / "earlier", tmp_path / "later", tmp_path / "fresh"
    for run_dir in (earlier, later, fresh_run):
        write_mined_cache(run_dir, np.random.default_rng(6), with_sides=True)
    common = ("train-verifier", "--train-set", tmp_path / "unused", "--epochs", "1", "--featureless-frames", "0",
              "--threads", "1", "--stage-channels", "8,12,16")
    first = run_cli(*common, "--run-dir", earlier, "--output", tmp_path / "earlier.onnx", "--seed", "3")
    assert first.code == 0, first.stderr + first.stdout
    missing = run_cli(*common, "--run-dir", later, "--output", tmp_path / "later.onnx", "--seed", "4",
                      "--init-from-run", earlier)
    assert missing.code == 2 and "verifier-seed4.pt" in missing.line("error:")
    # at learning rate 0 the fine-tuned network keeps its starting weights (only BatchNorm's statistics move)
    tuned = run_cli(*common, "--run-dir", later, "--output", tmp_path / "later.onnx", "--seed", "3",
                    "--init-from-run", earlier, "--learning-rate", "0")
    assert tuned.code == 0, tuned.stderr + tuned.stdout
    start, end = (torch.load(run_dir / "verifier-seed3.pt", weights_only=True)["weights"] for run_dir in (earlier, later))
    weights = [name for name in start if name.endswith("weight")]
    assert weights and all(torch.equal(start[name], end[name]) for name in weights)
    fresh = run_cli(*common, "--run-dir", fresh_run, "--output", tmp_path / "fresh.onnx", "--seed", "3",
                    "--learning-rate", "0")
    assert fresh.code == 0, fresh.stderr + fresh.stdout
    random = torch.load(fresh_run / "verifier-seed3.pt", weights_only=True)["weights"]
    assert not all(torch.equal(start[name], random[name]) for name in weights)


def test_a_network_of_another_crop_size_sees_the_crop_resized_to_its_own() -> None:
    import cv2

    from detectors.verifier.model import FaceVerifierNet, ResizedInput

    torch.manual_seed(1)
    member = FaceVerifierNet((8, 8, 8)).eval()
    crops = np.random.default_rng(2).integers(0, 255, (4, 48, 48, 3), dtype=np.uint8)
    resized = np.stack([cv2.resize(crop, (32, 32), interpolation=cv2.INTER_LINEAR) for crop in crops])
    with torch.no_grad():
        judged = ResizedInput(member, 32).eval()(torch.from_numpy(crops_to_batch(crops)))
        expected = member(torch.from_numpy(crops_to_batch(resized)))
    np.testing.assert_allclose(judged.numpy(), expected.numpy(), rtol=1e-3, atol=1e-3)


def test_an_earlier_runs_networks_of_another_crop_size_join_the_mean(tmp_path: Path) -> None:
    import onnx

    from detectors.verifier.model import ResizedInput
    from detectors.verifier.train import load_member
    from tests.cli_helpers import run_cli

    earlier, later = tmp_path / "earlier", tmp_path / "later"
    write_mined_cache(earlier, np.random.default_rng(9), with_sides=True)
    cached = write_mined_cache(later, np.random.default_rng(10), with_sides=True, side=48)
    common = ("train-verifier", "--train-set", tmp_path / "unused", "--epochs", "1", "--featureless-frames", "0",
              "--threads", "1")
    first = run_cli(*common, "--run-dir", earlier, "--output", tmp_path / "earlier.onnx", "--stage-channels", "8,12,16")
    assert first.code == 0, first.stderr + first.stdout
    result = run_cli(*common, "--run-dir", later, "--output", tmp_path / "mean.onnx", "--crop-size", "48",
                     "--stage-channels", "8,8,8", "--add-members", earlier)
    assert result.code == 0, result.stderr + result.stdout
    metadata = {entry.key: entry.value for entry in onnx.load(str(tmp_path / "mean.onnx")).metadata_props}
    assert metadata["members"] == "2" and metadata["added_members"] == str(earlier) and metadata["crop_size"] == "48"
    own, small = load_member(later / "verifier-seed0.pt")[0], load_member(earlier / "verifier-seed0.pt")[0]
    crops = cached["crops"][:6]
    with torch.no_grad():
        batch = torch.from_numpy(crops_to_batch(crops))
        expected = torch.sigmoid((own(batch) + ResizedInput(small, 32)(batch)) / 2).squeeze(1).numpy()
    verifier = FaceVerifier(tmp_path / "mean.onnx")
    (logits,) = verifier.session.run(None, {verifier.session.get_inputs()[0].name: crops_to_batch(crops)})
    np.testing.assert_allclose(1.0 / (1.0 + np.exp(-logits.reshape(-1))), expected, rtol=1e-4, atol=1e-5)
    for folder, message in ((tmp_path / "empty", "no trained network"), (later, "the run folder itself")):
        folder.mkdir(exist_ok=True)
        refused = run_cli(*common, "--run-dir", later, "--output", tmp_path / "refused.onnx", "--crop-size", "48",
                          "--stage-channels", "8,8,8", "--add-members", folder)
        assert refused.code == 2 and message in refused.line("error:")
        assert not (tmp_path / "refused.onnx").exists()
