"""benchmarks/descriptor_comparison.py: alignment, verification and naming figures on known inputs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import descriptor_comparison as comparison  # noqa: E402


def test_verification_of_separated_and_of_mixed_distances() -> None:
    rng = np.random.default_rng(0)
    perfect = comparison.verification(rng.uniform(0, 0.4, 500), rng.uniform(0.6, 1.0, 50_000))
    assert perfect["auc"] == pytest.approx(1.0) and perfect["eer"] == pytest.approx(0.0, abs=1e-3)
    assert perfect["tar@0.001"] == pytest.approx(1.0) and perfect["tar@0.0001"] == pytest.approx(1.0)
    same = rng.uniform(0, 1, 2000)
    chance = comparison.verification(same, rng.uniform(0, 1, 20_000))
    assert chance["auc"] == pytest.approx(0.5, abs=0.03) and chance["eer"] == pytest.approx(0.5, abs=0.03)


def test_cosine_and_euclidean_distances() -> None:
    features = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    np.testing.assert_allclose(comparison.distances(features, "cosine"), [[0, 0, 1], [0, 0, 1], [1, 1, 0]], atol=1e-12)
    padded = np.pad(features, ((0, 0), (0, 126)))  # Euclidean distances are of 128-D descriptors
    np.testing.assert_allclose(comparison.distances(padded, "euclidean")[0], [0, 1, np.sqrt(10)], atol=1e-7)


def test_naming_with_a_descriptor_that_separates_people() -> None:
    people = 70  # 40 known + 20 unknown drawn from them
    names = np.repeat([f"p{index:02d}" for index in range(people)], 6)
    features = np.repeat(np.eye(people, 128), 6, axis=0) + np.random.default_rng(0).normal(0, 0.01, (len(names), 128))
    named = comparison.naming(comparison.distances(features, "euclidean"), names, trials=4)
    assert named["known_right"] == pytest.approx(1.0)
    assert named["unknown_named"] <= 0.1  # the threshold spends up to the 5 % budget set on the first trials


def test_aligned_networks_get_rgb_and_zeros_for_unused_graph_inputs(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["image"], ["feature"], axes=[2, 3], keepdims=0)], "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 112, 112]),
         helper.make_tensor_value_info("unused", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("feature", TensorProto.FLOAT, [1, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "tiny.onnx")
    crop = np.zeros((112, 112, 3), np.uint8)
    crop[..., 0] = 30  # blue
    crop[..., 2] = 90  # red
    np.testing.assert_allclose(comparison.AlignedFaceNet(tmp_path / "tiny.onnx").describe(crop), [90, 0, 30])  # RGB order


def test_a_folder_without_photos_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert comparison.main(["--sface", str(tmp_path / "none.onnx"), "--data", str(tmp_path)]) == 2
    assert "no <Name>/<Name>_NNNN.jpg photos" in capsys.readouterr().err


def test_arcface_input_is_centred_and_scaled(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["image"], ["feature"], axes=[2, 3], keepdims=0)], "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("feature", TensorProto.FLOAT, [1, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "tiny.onnx")
    crop = np.full((112, 112, 3), 255, np.uint8)
    crop[..., 1] = 0
    network = comparison.AlignedFaceNet(tmp_path / "tiny.onnx", mean=127.5, scale=127.5)
    np.testing.assert_allclose(network.describe(crop), [1, -1, 1])
