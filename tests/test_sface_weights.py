"""The shipped descriptor network (apps/weights): where it comes from, that it installs, and how it was stored."""

from __future__ import annotations

import fnmatch
import hashlib
from pathlib import Path

import numpy as np
import pytest

from apps.sface_weights import SFACE_FILE, SMALLEST_HALVED, SOURCE_SHA256, store_half_precision

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_descriptor_names_its_source_and_licence() -> None:
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(SFACE_FILE), load_external_data=False)
    metadata = {item.key: item.value for item in model.metadata_props}
    assert SOURCE_SHA256 in metadata["source"] and "Apache-2.0" in metadata["licence"]
    assert "Apache License" in (SFACE_FILE.parent / "LICENSE-SFace").read_text()
    assert SFACE_FILE.stat().st_size < 20 * 2**20  # the repository's limit for a weight file


def test_the_shipped_descriptor_gives_a_128_value_feature() -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    session = onnxruntime.InferenceSession(str(SFACE_FILE), providers=["CPUExecutionProvider"])
    assert [item.name for item in session.get_inputs()] == ["data"]  # no initializer left as an input
    chip = np.random.default_rng(0).uniform(0, 255, (1, 3, 112, 112)).astype(np.float32)
    feature = session.run(None, {"data": chip})[0]
    assert feature.shape == (1, 128) and np.isfinite(feature).all()


def test_a_pip_install_carries_the_descriptor_and_its_licence() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = settings["tool"]["setuptools"]["package-data"]["apps"]
    for path in (SFACE_FILE, SFACE_FILE.parent / "LICENSE-SFace"):
        relative = path.relative_to(ROOT / "apps").as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative


def test_identity_without_the_descriptor_file_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from apps import sface_weights
    from apps.descriptors import identity_problem

    monkeypatch.setattr(sface_weights, "SFACE_FILE", tmp_path / "missing.onnx")
    problem = identity_problem()
    assert problem is not None and "missing.onnx" in problem and "\n" not in problem


def tiny_model(path: Path) -> np.ndarray:
    """A one-Gemm float32 model with a weight large enough to be halved (written to ``path``); returns the weight."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    weight = np.random.default_rng(1).normal(size=(128, 64)).astype(np.float32)
    bias = np.arange(64, dtype=np.float32)  # small: stays float32
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["data", "weight", "bias"], ["fc1"])], "tiny",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 128]),
         helper.make_tensor_value_info("weight", TensorProto.FLOAT, [128, 64])],  # an initializer listed as input
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 64])],
        [numpy_helper.from_array(weight, "weight"), numpy_helper.from_array(bias, "bias")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6
    onnx.save(model, str(path))
    return weight


def test_storing_half_precision_keeps_the_computation_and_halves_the_big_weights(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    from onnx import TensorProto

    source, target = tmp_path / "tiny.onnx", tmp_path / "tiny_fp16w.onnx"
    weight = tiny_model(source)
    assert weight.size >= SMALLEST_HALVED
    store_half_precision(source, target, hashlib.sha256(source.read_bytes()).hexdigest())
    stored = onnx.load(str(target))
    types = {tensor.name: tensor.data_type for tensor in stored.graph.initializer}
    assert types == {"weight__float16": TensorProto.FLOAT16, "bias": TensorProto.FLOAT}
    assert [item.name for item in stored.graph.input] == ["data"]
    data = np.random.default_rng(2).normal(size=(1, 128)).astype(np.float32)
    run = lambda path: onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"data": data})[0]  # noqa: E731
    expected = data @ weight.astype(np.float16).astype(np.float32) + np.arange(64)
    np.testing.assert_allclose(run(target), expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(run(target), run(source), rtol=0.02, atol=0.05)  # float16 rounding of the weight only


def test_storing_refuses_a_file_that_is_not_the_expected_one(tmp_path: Path) -> None:
    source = tmp_path / "tiny.onnx"
    tiny_model(source)
    with pytest.raises(ValueError, match="not the expected file"):
        store_half_precision(source, tmp_path / "out.onnx")
    assert not (tmp_path / "out.onnx").exists()
