"""Face detectors of FaceTrack behind one small runtime API.

>>> from detectors import load_detector
>>> detector = load_detector("faceboxes", score_threshold=0.5)
>>> detections = detector.detect(frame)  # (N, 5) float32: x1, y1, x2, y2, score

Only numpy, OpenCV and onnxruntime are needed here; torch is needed only for training/export.
"""

from __future__ import annotations

from pathlib import Path

from detectors.runtime import DetectorLoadError, OnnxFaceDetector
from detectors.verification import RANK_EXPONENT, SHIPPED_VERIFIER, FaceVerifier, VerifierLoadError, shipped_verifier

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

#: Shipped detector names -> ONNX files in :data:`WEIGHTS_DIR`.
BUILTIN_DETECTORS = {
    "faceboxes": "faceboxes.onnx",
    "ainnoface": "ainnoface.onnx",
}


def resolve_model_path(name_or_path: str | Path) -> Path:
    """The ONNX file for a built-in detector name or an explicit path.

    Raises:
        DetectorLoadError: For unknown names and missing files.
    """
    key = str(name_or_path)
    if key in BUILTIN_DETECTORS:
        path = WEIGHTS_DIR / BUILTIN_DETECTORS[key]
        if not path.is_file():
            raise DetectorLoadError(f"the {key!r} detector weights are not installed (expected {path})")
        return path
    path = Path(key)
    if path.suffix.lower() != ".onnx" and not path.exists():
        raise DetectorLoadError(f"unknown detector {key!r}: use one of {', '.join(BUILTIN_DETECTORS)} or an .onnx file")
    return path


def load_detector(
    name_or_path: str | Path = "faceboxes", score_threshold: float | None = None, verify: bool = True,
    rerank: bool = True, **options
) -> OnnxFaceDetector:
    """Load a face detector by name (``faceboxes``, ``ainnoface``) or from an ``.onnx`` file.

    Args:
        name_or_path: Built-in detector name or path to an exported model.
        score_threshold: Minimum score of returned faces; None uses the model's recommended
            operating point (``detector.recommended_threshold``, chosen on the dev set at export).
        verify: Give every face a second look with the shipped face verifier
            (:mod:`detectors.verification`) and drop those it rejects; False: the network's faces
            (after the flat-box guard) as they are.
        rerank: With ``verify``, also multiply every judged face's score by the square root of its face
            probability (:data:`detectors.verification.RANK_EXPONENT`): better ranked faces (AP up on
            every face size). A model that stores thresholds for re-ranked scores (both shipped ones
            do) reports them mapped back onto its own scale, so its thresholds keep their meaning;
            tracking re-ranks only such models (:func:`apps.detector_spec.prepare_for_tracking`).
            False: the verifier only rejects.
        **options: ``nms_threshold``, ``max_side``, ``upscale``, ``threads``, ``device``, ``tta``,
            ``flat_box_guard`` (see :class:`detectors.runtime.OnnxFaceDetector`).

    Raises:
        DetectorLoadError: If the model cannot be found or is not a FaceTrack detector.
        VerifierLoadError: If ``verify`` is set and the shipped verifier cannot be loaded.
    """
    verifier = shipped_verifier(options.get("threads"), RANK_EXPONENT if rerank else 0.0, SHIPPED_VERIFIER) if verify else None
    return OnnxFaceDetector(resolve_model_path(name_or_path), score_threshold=score_threshold, verifier=verifier, **options)


__all__ = ["BUILTIN_DETECTORS", "DetectorLoadError", "FaceVerifier", "OnnxFaceDetector", "VerifierLoadError", "load_detector",
           "resolve_model_path"]
