"""ONNX Runtime face detector: the only detector code the application needs at run time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from detectors.anchors import AnchorLevel
from detectors.flat_boxes import drop_flat_boxes
from detectors.inference import ScalePolicy, detect_frame
from detectors.postprocess import PostprocessConfig
from detectors.preprocess import to_bgr
from detectors.providers import DeviceError
from detectors.sessions import open_session, session_options
from detectors.tta import TestTimeAugmentation, detect_with_tta
from detectors.verification import FaceVerifier, to_raw_scale, to_rescored_scale
from detectors.windows import detect_windows

#: Side in pixels of the square network input of one follow window: a face filling half of its
#: window is seen at 112 px. Measured on the end-to-end tracking clips (FaceBoxes, scans every 5th
#: frame): faces seen at 80 / 96 / 112 / 128 px gave IDF1 .55 / .62 / .62 / .66, and the cost grows
#: with the tile's area (1.2 ms per 224 px window on one core).
WINDOW_TILE = 224
#: Cost of a window's network pixel relative to a full scan's (cutting, resizing, small inputs).
WINDOW_OVERHEAD = 1.2

#: Minimum face score of models whose metadata recommends none.
DEFAULT_THRESHOLD = 0.5


class DetectorLoadError(RuntimeError):
    """The model file is missing, unreadable or not a FaceTrack detector."""


def _parse_levels(text: str) -> tuple[AnchorLevel, ...]:
    """Parse the ``anchor_levels`` metadata: ``stride:size/density,size/density;...``."""
    levels = []
    for chunk in text.split(";"):
        stride, anchors = chunk.split(":")
        pairs = [pair.split("/") for pair in anchors.split(",")]
        levels.append(
            AnchorLevel(int(stride), tuple(float(size) for size, _ in pairs), tuple(int(d) for _, d in pairs))
        )
    return tuple(levels)


def _rescored_thresholds(metadata: dict[str, str]) -> tuple[float, float] | None:
    """The ``(low, start)`` thresholds for re-ranked scores stored in the metadata, or None.

    Raises:
        ValueError: If they are present but not numbers with 0 < low <= start < 1.
    """
    if "rerank_score_threshold" not in metadata or "rerank_low_score_threshold" not in metadata:
        return None
    low, start = float(metadata["rerank_low_score_threshold"]), float(metadata["rerank_score_threshold"])
    if not 0.0 < low <= start < 1.0:
        raise ValueError(f"re-ranked thresholds must satisfy 0 < low <= start < 1, got {low} and {start}")
    return low, start


def format_levels(levels: tuple[AnchorLevel, ...]) -> str:
    """Inverse of the metadata parser: the ``anchor_levels`` string stored in exported models."""
    return ";".join(
        f"{level.stride}:" + ",".join(f"{s:.10g}/{d}" for s, d in zip(level.sizes, level.densities)) for level in levels
    )


class OnnxFaceDetector:
    """A face detector running an exported FaceTrack ONNX model.

    The model's anchor layout and padding multiple are read from its metadata, so any model
    exported by ``start.py export`` works without code changes. The session is created once.
    With ``tta`` set, every frame is detected at several scales and mirrored (accurate mode,
    ``tta.passes`` network runs per frame).

    Frames are scaled so their long side is at most ``max_side``; frames smaller than the model's
    recommended ``min_input_side`` (metadata, chosen on the dev set at export) are enlarged to it,
    since the models learned most faces from enlarged training crops. ``min_side`` overrides it
    (0: never enlarge). ``device`` picks the execution provider (see :func:`detectors.sessions.open_session`;
    :attr:`device_note` says why ``auto`` skipped an accelerator); ``verbose`` shows ONNX Runtime's log.
    With ``flat_box_guard`` (the default) faces whose box holds no structure (black, flat, noise
    only) are dropped (:mod:`detectors.flat_boxes`); off, the network's answers are returned as they are.
    With a ``verifier`` (:class:`detectors.verification.FaceVerifier`), the faces it does not accept
    are dropped too (:func:`detectors.load_detector` attaches the shipped one).
    """

    def __init__(
        self,
        model_path: str | Path,
        score_threshold: float | None = None,
        nms_threshold: float = 0.4,
        max_side: int | None = 1024,
        upscale: float = 1.0,
        threads: int | None = None,
        min_side: int | None = None,
        device: str = "auto",
        tta: TestTimeAugmentation | None = None,
        verbose: bool = False,
        flat_box_guard: bool = True,
        verifier: FaceVerifier | None = None,
    ) -> None:
        path = Path(model_path)
        if not path.exists():
            raise DetectorLoadError(f"model file not found: {path}")
        if not path.is_file():
            raise DetectorLoadError(f"{path} is not a model file (it is a folder or a device)")
        try:
            self.session, self.device_note = open_session(str(path), session_options(threads), device, verbose)
        except DeviceError:
            raise
        except Exception as error:  # onnxruntime raises several unrelated exception types
            raise DetectorLoadError(f"{path} is not a valid ONNX model: {error}") from error
        metadata = self.session.get_modelmeta().custom_metadata_map
        if metadata.get("facetrack_model") is None or "anchor_levels" not in metadata:
            raise DetectorLoadError(f"{path} is an ONNX model but not a FaceTrack face detector (metadata missing)")
        self.name = metadata["facetrack_model"]
        try:
            self.levels = _parse_levels(metadata["anchor_levels"])
            self.pad_multiple = int(metadata.get("pad_multiple", "32"))
            #: Operating point chosen on the dev set at export time (``score_threshold`` metadata):
            #: the default minimum score, and the weaker score that may still extend a track.
            self.recommended_threshold = float(metadata.get("score_threshold", DEFAULT_THRESHOLD))
            self.recommended_low_threshold = float(metadata.get("low_score_threshold", self.recommended_threshold / 2))
            #: (low, start) thresholds for re-ranked scores that keep the recall of the two above
            #: (``rerank_low_score_threshold`` / ``rerank_score_threshold`` metadata, written by
            #: :mod:`detectors.verifier.thresholds`; None when absent): re-ranked scores are mapped back
            #: onto the raw scale through them, and tracking re-ranks its scans only when they exist.
            self.rescored_thresholds = _rescored_thresholds(metadata)
            #: Frames whose long side is shorter are enlarged to this (``min_input_side`` metadata; 0: never).
            self.recommended_min_side = int(metadata.get("min_input_side", "0"))
            #: Box voting for boxes under this size (``vote_max_size`` metadata; None: plain NMS).
            vote_max_size = float(metadata["vote_max_size"]) if metadata.get("vote_max_size") else None
        except ValueError as error:
            raise DetectorLoadError(f"{path}: unreadable metadata ({error})") from error
        self.providers = self.session.get_providers()
        chosen_min_side = self.recommended_min_side if min_side is None else min_side
        self.scale_policy = ScalePolicy(max_side=max_side, upscale=upscale, min_side=chosen_min_side or None)
        self.tta = tta
        threshold = self.recommended_threshold if score_threshold is None else score_threshold
        self.post = PostprocessConfig(score_threshold=threshold, nms_threshold=nms_threshold, vote_max_size=vote_max_size)
        self._input_name = self.session.get_inputs()[0].name
        #: True when the model takes several images per call (a named, dynamic batch axis).
        self.batches = not isinstance(self.session.get_inputs()[0].shape[0], int)
        self.window_tile = -(-WINDOW_TILE // self.pad_multiple) * self.pad_multiple
        #: Drop faces whose box holds no structure (see :mod:`detectors.flat_boxes`).
        self.flat_box_guard = flat_box_guard
        #: Second look at every face's crop (None: off).
        self.verifier = verifier

    @property
    def score_threshold(self) -> float:
        """Minimum score of the returned faces."""
        return self.post.score_threshold

    @score_threshold.setter
    def score_threshold(self, value: float) -> None:
        self.post = dataclasses.replace(self.post, score_threshold=float(value))

    def run_network(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw outputs for a prepared (1, 3, H, W) batch: (A, 4) deltas and (A,) face scores."""
        deltas, scores = self.session.run(None, {self._input_name: batch})
        return deltas[0], scores[0]

    def run_network_batch(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw outputs for an (N, 3, H, W) batch: (N, A, 4) deltas and (N, A) scores.

        One call for models with a batch axis, one call per image for models exported without.
        """
        if self.batches or len(batch) == 1:
            deltas, scores = self.session.run(None, {self._input_name: batch})
            return deltas, scores
        outputs = [self.session.run(None, {self._input_name: batch[row : row + 1]}) for row in range(len(batch))]
        return np.concatenate([d for d, _ in outputs]), np.concatenate([s for _, s in outputs])

    def detect_windows(self, frame: np.ndarray, windows: np.ndarray) -> list[np.ndarray]:
        """Faces inside each square window ``[x1, y1, x2, y2]`` of ``frame``, all in one network call.

        Returns one (K, 5) float32 array per window, in frame pixels (see :mod:`detectors.windows`).
        Each window is resized to :attr:`window_tile` pixels, whatever the frame's scale policy.
        The flat-box guard applies; the verifier does not (these faces only extend tracks that a
        verified scan detection started).
        """
        found = detect_windows(frame, windows, self.run_network_batch, self.levels, self.window_tile, self.post)
        # no verifier here: a window's faces only extend the track it follows, never start one
        return [drop_flat_boxes(frame, faces) for faces in found] if self.flat_box_guard else found

    def windows_cost_more(self, frame_shape: tuple[int, ...], windows: int) -> bool:
        """True if ``windows`` follow windows cost at least as much as one full scan of a frame of
        ``frame_shape``: the windows' network pixels (with a fifth more for cutting and resizing each
        window) against the scan's. 10 windows of 224 px took 16.0 ms, a 1080p scan 14.0 ms."""
        scale = self.scale_policy.scale_for(frame_shape[0], frame_shape[1])
        scan_pixels = round(frame_shape[0] * scale) * round(frame_shape[1] * scale)
        return WINDOW_OVERHEAD * windows * self.window_tile**2 >= scan_pixels

    def detect(self, frame: np.ndarray) -> np.ndarray:
        """Faces in an HxW(x1/3/4) frame as an (N, 5) float32 ``x1, y1, x2, y2, score`` array.

        Boxes are in the frame's pixel coordinates, sorted by descending score.

        Raises:
            ValueError: If the frame is empty or not an image array.
        """
        if self.tta is None:
            faces = detect_frame(frame, self.run_network, self.levels, self.pad_multiple, self.scale_policy, self._scan_post())
            return self.screened(frame, faces)
        frame = to_bgr(frame)
        normal = self.scale_policy.scale_for(frame.shape[0], frame.shape[1])
        return self.screened(frame, detect_with_tta(frame, self._detect_at_scale, self.tta, self.post.nms_threshold, normal))

    def screened(self, frame: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """A scan's network ``faces`` (N, 5) of ``frame`` as :meth:`detect` returns them: without the
        flat boxes when the guard is on and without those the verifier rejects; with re-ranking, the
        scores re-ranked (mapped back onto the raw scale when the model stores re-ranked thresholds)
        and the faces now under :attr:`score_threshold` dropped."""
        if self.flat_box_guard:
            faces = drop_flat_boxes(frame, faces)
        if self.verifier is None:
            return faces
        faces = self.verifier.keep(frame, faces)
        if not self.verifier.rank_exponent:
            return faces
        if self.rescored_thresholds is not None:
            faces = faces.copy()
            faces[:, 4] = to_raw_scale(faces[:, 4], self.rescored_thresholds, self._raw_thresholds())
        return faces[faces[:, 4] >= self.score_threshold]

    def _raw_thresholds(self) -> tuple[float, float]:
        """The model's (low, start) thresholds for raw scores."""
        return self.recommended_low_threshold, self.recommended_threshold

    def _scan_post(self) -> PostprocessConfig:
        """Post-processing of a scan: when re-ranked scores are mapped back onto the raw scale, the
        network keeps faces down to the raw score whose re-ranked value can still reach the threshold."""
        if self.verifier is None or not self.verifier.rank_exponent or self.rescored_thresholds is None:
            return self.post
        floor = to_rescored_scale(self.score_threshold, self.rescored_thresholds, self._raw_thresholds())
        return dataclasses.replace(self.post, score_threshold=min(floor, self.score_threshold))

    def _detect_at_scale(self, frame: np.ndarray, scale: float) -> np.ndarray:
        """One TTA pass: ``frame`` scaled by ``scale`` (no size cap) into the network."""
        policy = ScalePolicy(max_side=None, upscale=scale)
        return detect_frame(frame, self.run_network, self.levels, self.pad_multiple, policy, self._scan_post())
