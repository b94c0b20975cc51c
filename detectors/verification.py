"""Second look at every detection: a small learned face / not-face classifier on the box's crop.

The detectors' networks now and then fire on blurred blotches, stripes, heavily compressed frames,
textures, the back of a head. :class:`FaceVerifier` runs a tiny CNN (``verifier.onnx``, trained by
:mod:`detectors.verifier`) on a 32 x 32 crop around each box, a little wider than the box, and drops
the boxes it finds unlikely to be faces, as the second stage of a cascade. All boxes of a frame go
through the network in one call. Boxes too small to judge and boxes too weak to start a track are
kept unchecked. A verifier may hold a second network, a rejecter (the shipped one is
``verifier_rejecter.onnx``): it then decides which boxes inside the frame are dropped, while the
first network re-ranks every box and still judges the boxes that touch the frame's edge, unless
the rejecter was trained on faces cut by the edge too; a rejecter that stores a threshold of its own
for edge boxes also drops those it is surest hold no face (``benchmarks/verifier_selection.md``,
trials 17 to 21). numpy, OpenCV and ONNX Runtime only.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from detectors.boxes import box_sides
from detectors.preprocess import to_bgr
from detectors.sessions import session_options

#: Side of the network's square input.
CROP_SIZE = 32
#: The crop's side relative to the box's longer side (some hair, ears and neck around the face).
CONTEXT = 1.4
#: Boxes smaller than this (square root of the area, frame pixels) are kept unchecked.
MIN_CHECKED_SIDE = 16.0
#: Boxes scoring under this are kept unchecked: weaker faces never start a track nor are reported
#: (track-start scores: FaceBoxes 0.55, AInnoFace 0.40); they only extend tracks and widen masks.
MIN_CHECKED_SCORE = 0.4

#: With re-ranking (on by default in ``detectors.load_detector``, ``detect`` and ``evaluate``; in
#: tracking, for the scans of a model that stores re-ranked thresholds), every judged box's score is multiplied by its face probability to
#: this power, so that faces the verifier doubts rank below those it is sure of (chosen on held-out
#: training images; ``benchmarks/verifier_selection.md``, trials 5 to 7).
RANK_EXPONENT = 0.5

#: Where the shipped verifier lives.
SHIPPED_VERIFIER = Path(__file__).resolve().parent / "weights" / "verifier.onnx"
#: Where the shipped rejecting verifier lives: it decides which faces inside the frame are dropped and
#: :data:`SHIPPED_VERIFIER` re-ranks (``benchmarks/verifier_selection.md``, trials 17 and 18).
SHIPPED_REJECTER = Path(__file__).resolve().parent / "weights" / "verifier_rejecter.onnx"


def to_raw_scale(scores: np.ndarray, rescored_thresholds: tuple[float, float], raw_thresholds: tuple[float, float]) -> np.ndarray:
    """Re-ranked ``scores`` mapped back onto the scale the model's thresholds were chosen for.

    The map is piecewise linear through (0, 0), (low', low), (start', start) and (1, 1), where
    ``rescored_thresholds`` = (low', start') keep the recall that ``raw_thresholds`` = (low, start)
    keep of the raw scores (:mod:`detectors.verifier.thresholds`). It is increasing, so the ranking
    (and the AP) is the re-ranked one, while every threshold keeps its meaning.
    """
    (low_rescored, start_rescored), (low, start) = rescored_thresholds, raw_thresholds
    return np.interp(scores, [0.0, low_rescored, start_rescored, 1.0], [0.0, low, start, 1.0]).astype(np.float32)


def to_rescored_scale(score: float, rescored_thresholds: tuple[float, float], raw_thresholds: tuple[float, float]) -> float:
    """The re-ranked score that :func:`to_raw_scale` maps onto ``score`` (its inverse)."""
    (low_rescored, start_rescored), (low, start) = rescored_thresholds, raw_thresholds
    return float(np.interp(score, [0.0, low, start, 1.0], [0.0, low_rescored, start_rescored, 1.0]))


class VerifierLoadError(RuntimeError):
    """The verifier model is missing, unreadable or not a FaceTrack verifier."""


#: A box within this many pixels of the frame's border touches its edge.
EDGE_MARGIN = 1.0
#: Metadata key of a verifier trained also on faces cut by the frame's edge ("1"): as a rejecter it
#: then judges the boxes that touch the frame's edge too.
EDGE_CUT_FACES_NOTE = "edge_cut_faces"
#: Metadata key of a rejecter's own threshold for the boxes that touch the frame's edge.
EDGE_THRESHOLD_NOTE = "edge_threshold"


def touches_frame_edge(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """(N,) whether each (N, 4+) box (x1, y1, x2, y2) comes within :data:`EDGE_MARGIN` of the border
    of a ``height`` x ``width`` frame."""
    return ((boxes[:, 0] <= EDGE_MARGIN) | (boxes[:, 1] <= EDGE_MARGIN)
            | (boxes[:, 2] >= width - EDGE_MARGIN) | (boxes[:, 3] >= height - EDGE_MARGIN))


def crop_square(frame: np.ndarray, box: np.ndarray, size: int = CROP_SIZE, context: float = CONTEXT) -> np.ndarray:
    """The ``size`` x ``size`` BGR crop of the square centred on ``box`` (x1, y1, x2, y2) whose side
    is ``context`` times the box's longer side; parts outside the frame repeat its edge pixels."""
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = (float(value) for value in box[:4])
    side = max(context * max(x2 - x1, y2 - y1), 1.0)
    left, top = round((x1 + x2 - side) / 2), round((y1 + y2 - side) / 2)
    right, bottom = left + max(round(side), 1), top + max(round(side), 1)
    inner = frame[max(top, 0) : min(bottom, height), max(left, 0) : min(right, width)]
    if inner.size == 0:
        return np.zeros((size, size, 3), np.uint8)
    pads = (max(-top, 0), max(bottom - height, 0), max(-left, 0), max(right - width, 0))
    if any(pads):
        inner = cv2.copyMakeBorder(inner, *pads, cv2.BORDER_REPLICATE)
    shrinking = inner.shape[0] > size
    return cv2.resize(inner, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def crops_to_batch(crops: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 BGR crops as the network's (N, 3, S, S) float32 input in [0, 1]."""
    return np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


class FaceVerifier:
    """The exported face / not-face classifier and its threshold (both read from the ONNX file).

    Args:
        model_path: A ``verifier.onnx`` exported by :func:`detectors.verifier.train.export_verifier`.
        threads: CPU threads of its ONNX Runtime session (None: ONNX Runtime decides).
        threshold: Minimum face probability of a kept box (None: the one stored in the model,
            chosen on held-out training images when it was exported).
        rank_exponent: Judged boxes' scores are multiplied by their face probability to this power
            (0: scores unchanged, rejection only; :data:`RANK_EXPONENT` to re-rank).
        rejecter: Another verifier whose probability and threshold decide which judged boxes are
            dropped; this one's probability then only re-ranks (None: this one does both).
    """

    def __init__(self, model_path: str | Path = SHIPPED_VERIFIER, threads: int | None = None,
                 threshold: float | None = None, rank_exponent: float = 0.0,
                 rejecter: FaceVerifier | None = None) -> None:
        import onnxruntime as ort

        path = Path(model_path)
        if not path.is_file():
            raise VerifierLoadError(f"face verifier model not found: {path} (reinstall FaceTrack, or run with --no-verify)")
        try:
            self.session = ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises several unrelated exception types
            raise VerifierLoadError(f"{path} is not a valid ONNX model ({error}): reinstall FaceTrack, or run with "
                                    "--no-verify") from error
        metadata = self.session.get_modelmeta().custom_metadata_map
        if metadata.get("facetrack_verifier") is None:
            raise VerifierLoadError(f"{path} is an ONNX model but not a FaceTrack face verifier")
        self.crop_size = int(metadata.get("crop_size", CROP_SIZE))
        self.context = float(metadata.get("context", CONTEXT))
        self.threshold = float(metadata["threshold"]) if threshold is None else float(threshold)
        #: Scores are multiplied by the face probability to this power (0: rejection only).
        self.rank_exponent = float(rank_exponent)
        #: The verifier that drops boxes instead of this one (None: this one).
        self.rejecter = rejecter
        #: Whether it was trained on faces cut by the frame's edge, so that as a rejecter it judges
        #: the boxes touching the edge too (else those are left to the verifier it serves).
        self.judges_frame_edge = metadata.get(EDGE_CUT_FACES_NOTE) == "1"
        #: As a rejecter that does not :attr:`judges_frame_edge`: boxes touching the frame's edge whose
        #: probability is under this are dropped too (None: those are left to the verifier it serves).
        self.edge_threshold = float(metadata[EDGE_THRESHOLD_NOTE]) if EDGE_THRESHOLD_NOTE in metadata else None
        self._input_name = self.session.get_inputs()[0].name

    def face_probabilities(self, frame: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(N,) probability that each (N, 4+) box of ``frame`` holds a face."""
        if len(boxes) == 0:
            return np.zeros(0, np.float32)
        frame = to_bgr(frame)
        crops = np.stack([crop_square(frame, box, self.crop_size, self.context) for box in boxes])
        (logits,) = self.session.run(None, {self._input_name: crops_to_batch(crops)})
        return (1.0 / (1.0 + np.exp(-logits.reshape(-1).astype(np.float64)))).astype(np.float32)

    def keep(self, frame: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """The rows of ``faces`` (N, 5+: box, score, ...) the verifier accepts, by descending score.

        Every box of :data:`MIN_CHECKED_SIDE` or more gets the score ``score * p ** rank_exponent``
        (p: its face probability), and those that scored :data:`MIN_CHECKED_SCORE` or more before
        it are dropped when p is under the threshold (the :attr:`rejecter`'s probability and threshold
        when there is one: :meth:`rejects`). Smaller
        boxes and rows with a value that is not a finite number keep their score (the tracker drops
        the latter)."""
        if len(faces) == 0:
            return faces
        with np.errstate(invalid="ignore"):
            sides = box_sides(faces)
        looked = np.isfinite(faces[:, :5]).all(axis=1) & np.isfinite(sides)
        looked[looked] = sides[looked] >= MIN_CHECKED_SIDE
        if not self.rank_exponent:  # rejection only: weaker faces are never judged, so not looked at
            looked[looked] = faces[looked, 4] >= MIN_CHECKED_SCORE
        rows = np.flatnonzero(looked)
        strong = faces[rows, 4] >= MIN_CHECKED_SCORE
        judged = rows[strong]
        if self.rejecter is None:
            dropped, deferred = np.zeros(len(judged), dtype=bool), np.ones(len(judged), dtype=bool)
        else:
            dropped, deferred = self.rejecter.rejects(frame, faces[judged])
        if self.rank_exponent:
            probabilities = self.face_probabilities(frame, faces[rows])
            own = probabilities[strong]
        else:  # rejection only: this network looks at the boxes left to it alone
            own = np.full(len(judged), np.inf, dtype=np.float32)
            own[deferred] = self.face_probabilities(frame, faces[judged[deferred]])
        keep = np.ones(len(faces), dtype=bool)
        keep[judged] = ~(dropped | (deferred & (own < self.threshold)))
        if self.rank_exponent:
            faces = faces.copy()
            faces[rows, 4] *= probabilities ** self.rank_exponent
        kept = faces[keep]
        return kept[np.argsort(-kept[:, 4], kind="stable")]

    def rejects(self, frame: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As the rejecter of another verifier: which of ``boxes`` it drops, and which it leaves to that
        verifier's judgement. A box inside the frame is dropped when its probability is under
        :attr:`threshold`. A box touching the frame's edge is judged so too when the rejecter
        :attr:`judges_frame_edge`; else it is left to the served verifier (faces cut by the edge, which a
        rejecter not trained on them takes for non-faces, ``benchmarks/verifier_selection.md`` trial 17)
        unless its probability is under :attr:`edge_threshold`: then it is dropped (trial 21)."""
        at_edge = (np.zeros(len(boxes), dtype=bool) if self.judges_frame_edge
                   else touches_frame_edge(boxes, frame.shape[0], frame.shape[1]))
        asked = np.ones(len(boxes), dtype=bool) if self.edge_threshold is not None else ~at_edge
        probabilities = np.full(len(boxes), np.inf, dtype=np.float32)
        probabilities[asked] = self.face_probabilities(frame, boxes[asked])
        edge_threshold = -np.inf if self.edge_threshold is None else self.edge_threshold
        dropped = probabilities < np.where(at_edge, edge_threshold, self.threshold)
        return dropped, at_edge & ~dropped


def shipped_verifier(threads: int | None = None, rank_exponent: float = 0.0, model_path: str | Path = SHIPPED_VERIFIER,
                     rejecter_path: Path = SHIPPED_REJECTER) -> FaceVerifier:
    """The verifier at ``model_path`` (re-ranking with ``rank_exponent``), with the rejecting verifier
    at ``rejecter_path`` when that file exists (delete :data:`SHIPPED_REJECTER` to let a verifier of
    your own at :data:`SHIPPED_VERIFIER` both reject and re-rank)."""
    rejecter = FaceVerifier(rejecter_path, threads=threads) if rejecter_path.is_file() else None
    return FaceVerifier(model_path, threads=threads, rank_exponent=rank_exponent, rejecter=rejecter)
