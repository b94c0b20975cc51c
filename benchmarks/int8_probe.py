"""What 8-bit weights and activations would give a shipped detector: speed and AP next to float32.

    python benchmarks/int8_probe.py [--detector faceboxes] [--method entropy|minmax|percentile]
        [--format qoperator|qdq] [--calibration-images 100] [--output /tmp/faceboxes-int8.onnx]

Post-training static quantization with ONNX Runtime's tools (``onnxruntime.quantization``, needs the
``onnx`` package of the train extra): the detector's ONNX file is quantized (weights per channel to
int8, activations to uint8), its prediction heads kept in float32 (the boxes and scores are what a
coarse grid would hurt most), the activation ranges calibrated on network inputs made exactly as
:meth:`detectors.OnnxFaceDetector.detect` makes them from training images outside the held-out split
(every k-th, cut to their first 512 x 512 pixels so every calibration input has one size). Printed:
the network's median time on a 1024 x 576 scan input and on a batch of eight 224 px follow windows
(one thread, float32 and int8 alternated), and AP@0.5 per face size of both on ``faces/dev`` and
``dev-clean`` (verifier off: the network alone). Nothing here is shipped; it measures a lever.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from detectors import BUILTIN_DETECTORS, load_detector, resolve_model_path  # noqa: E402
from detectors.datasets import read_face_folder  # noqa: E402
from detectors.evaluation.ap import EVALUATION_SCORE_FLOOR, evaluate_detections  # noqa: E402
from detectors.evaluation.runner import format_ap_row, run_on_samples  # noqa: E402
from detectors.sessions import session_options  # noqa: E402
from detectors.verifier.samples import is_held_out  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "faces"
#: Inputs timed: a 1080p frame's scan at the default 1024 px cap, and one frame's follow windows.
TIMED_INPUTS = {"scan 1024x576": (1, 3, 576, 1024), "8 windows of 224 px": (8, 3, 224, 224)}
CALIBRATION_SIDE = 512


def calibration_inputs(detector, images: list[Path]) -> list[np.ndarray]:
    """The (1, 3, 512, 512) network inputs ``detector.detect`` makes from ``images`` (top-left crops)."""
    inputs: list[np.ndarray] = []
    forward = detector.run_network

    def record(batch: np.ndarray):
        inputs.append(np.ascontiguousarray(batch[:, :, :CALIBRATION_SIDE, :CALIBRATION_SIDE]))
        return forward(batch)

    detector.run_network = record
    try:
        for path in images:
            detector.detect(cv2.imread(str(path)))
    finally:
        del detector.run_network
    return [batch for batch in inputs if batch.shape[2:] == (CALIBRATION_SIDE, CALIBRATION_SIDE)]


def head_convolutions(model) -> list[str]:
    """Names of the Conv nodes whose output goes straight to a Transpose: the prediction heads."""
    consumers: dict[str, list] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    return [node.name for node in model.graph.node
            if node.op_type == "Conv" and any(user.op_type == "Transpose" for user in consumers.get(node.output[0], []))]


def quantize(source: Path, output: Path, inputs: list[np.ndarray], method: str, quant_format: str) -> Path:
    """Write the int8 copy of ``source`` (heads in float32, metadata kept) to ``output``."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.remaining = iter(inputs)

        def get_next(self):
            batch = next(self.remaining, None)
            return None if batch is None else {"images": batch}

    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        methods = {"entropy": CalibrationMethod.Entropy, "minmax": CalibrationMethod.MinMax,
                   "percentile": CalibrationMethod.Percentile}
        formats = {"qoperator": QuantFormat.QOperator, "qdq": QuantFormat.QDQ}
        quantize_static(str(prepared), str(output), Reader(), quant_format=formats[quant_format],
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                        nodes_to_exclude=head_convolutions(onnx.load(str(prepared))),
                        calibrate_method=methods[method])
    quantized, original = onnx.load(str(output)), onnx.load(str(source))
    del quantized.metadata_props[:]
    for entry in original.metadata_props:
        quantized.metadata_props.add(key=entry.key, value=entry.value)
    onnx.save(quantized, str(output))
    return output


def network_ms(paths: dict[str, Path], runs: int) -> dict[str, dict[str, float]]:
    """Median ms of one network call per model and timed input, the models alternated call by call."""
    import onnxruntime as ort

    sessions = {name: ort.InferenceSession(str(path), session_options(1), providers=["CPUExecutionProvider"])
                for name, path in paths.items()}
    rng = np.random.default_rng(0)
    timings: dict[str, dict[str, float]] = {name: {} for name in paths}
    for label, shape in TIMED_INPUTS.items():
        feed = {"images": rng.random(shape, dtype=np.float32) * 255}
        samples: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(runs + 1):
            for name, session in sessions.items():
                started = time.perf_counter()
                session.run(None, feed)
                samples[name].append(1000 * (time.perf_counter() - started))
        for name in paths:
            timings[name][label] = statistics.median(samples[name][1:])
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detector", default="faceboxes", choices=sorted(BUILTIN_DETECTORS))
    parser.add_argument("--method", default="entropy", choices=["entropy", "minmax", "percentile"])
    parser.add_argument("--format", dest="quant_format", default="qoperator", choices=["qoperator", "qdq"])
    parser.add_argument("--calibration-images", type=int, default=100)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--output", type=Path, help="where the int8 model goes (default: a temporary file)")
    args = parser.parse_args(argv)
    if not (SHARED / "train").is_dir():
        print(f"skipped: {SHARED / 'train'} is not available")
        return 0
    detector = load_detector(args.detector, threads=2, verify=False)
    train = [path for path in sorted((SHARED / "train" / "images").glob("*.jpg")) if not is_held_out(path.stem)]
    step = max(len(train) // max(args.calibration_images, 1), 1)
    inputs = calibration_inputs(detector, train[::step][: args.calibration_images])
    with tempfile.TemporaryDirectory() as scratch:
        output = args.output or Path(scratch) / f"{args.detector}-int8.onnx"
        source = resolve_model_path(args.detector)
        paths = {"float32": source, "int8": quantize(source, output, inputs, args.method, args.quant_format)}
        timings = network_ms(paths, args.runs)
        print(f"\n{args.detector}: {len(inputs)} calibration inputs, {args.method} calibration, {args.quant_format}, "
              f"heads in float32\n")
        print("| model | " + " | ".join(f"{label} ms" for label in TIMED_INPUTS) + " | dev AP >=64 / 32-64 / 16-32 / <16 "
              "| dev-clean AP >=64 / 32-64 / 16-32 / <16 |")
        print("|---|" + "---:|" * len(TIMED_INPUTS) + "---|---|")
        subsets = {"dev": None, "dev-clean": (SHARED / "dev-clean.txt").read_text().split()}
        for name, path in paths.items():
            model = load_detector(str(path), score_threshold=EVALUATION_SCORE_FLOOR, threads=2, verify=False)
            cells = []
            for stems in subsets.values():
                samples = read_face_folder(SHARED / "dev", None, stems)
                results = evaluate_detections(samples, run_on_samples(model.detect, samples)[0])
                cells.append(" / ".join(format_ap_row(results)[1:]))
            times = " | ".join(f"{timings[name][label]:.1f}" for label in TIMED_INPUTS)
            print(f"| {name} | {times} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
