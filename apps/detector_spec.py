"""Which detector a tracking run uses, as a small picklable value every worker process can load."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


#: With ``--anonymize`` the detector also reports faces down to this score. They are only hidden,
#: never tracked: on the end-to-end clips (scans on every frame) 9.7 % of the faces stayed
#: recognisable with masks from the tracker's low score (0.28 for FaceBoxes), 7.4 % with this floor.
ANONYMIZE_MASK_SCORE = 0.15


def prepare_for_tracking(detector: Any, mask_score: float | None = None) -> tuple[float, float]:
    """Switch a loaded detector to tracking use and return its ``(high, low)`` scores.

    The detector's current threshold (the model's recommended one unless the user chose another)
    becomes ``high``: the score a face needs to start a track. The detector then also returns weaker
    faces down to ``low`` (the model's recommended low threshold, never above ``high``), which only
    extend existing tracks (ByteTrack's second association round). With ``mask_score`` (anonymising),
    it returns faces down to that score as well; the tracker ignores those below ``low``.

    A face verifier, if the detector has one, re-ranks the scans exactly when the model stores
    thresholds for re-ranked scores (``rescored_thresholds``; the scores are then mapped back onto the
    model's scale, ``benchmarks/verifier_selection.md``, trial 7); for any other model it only rejects,
    since the tracker's thresholds were chosen for the network's own scores. Follow windows keep their
    raw scores.
    """
    verifier = getattr(detector, "verifier", None)
    if verifier is not None:
        from detectors.verification import RANK_EXPONENT

        verifier.rank_exponent = RANK_EXPONENT if getattr(detector, "rescored_thresholds", None) is not None else 0.0
    high = float(detector.score_threshold)
    low = min(float(detector.recommended_low_threshold), high)
    detector.score_threshold = low if mask_score is None else min(low, mask_score)
    return high, low


@dataclass(frozen=True)
class DetectorSpec:
    """Everything needed to load the detector of a run, in this process or in another one.

    Attributes:
        name: Built-in detector name or path to an ``.onnx`` model.
        threshold: Score that starts a track; None uses the model's recommended operating point.
        threads: CPU threads of the onnxruntime session (None: onnxruntime decides).
        device: ``auto``, ``cpu``, ``cuda``, ``tensorrt``, ``coreml`` or ``directml``.
        max_side: Frames are scaled down to this long side before detection (None: never).
        upscale: Frames are scaled up by this factor first (finds smaller faces, slower).
        accurate: Test-time augmentation (several scales, mirrored; see ``detectors.tta``).
        mirrored: Also detect on the mirrored frame and merge (``detectors.tta.MIRRORED``; ignored with
            ``accurate``, which mirrors every scale).
        min_side: Frames with a shorter long side are enlarged to it (None: the model's
            recommendation; 0: never).
        mask_score: Anonymising: also report faces down to this score, to be hidden only (see
            :func:`prepare_for_tracking`).
        verify: Give every face a second look with the shipped face verifier (``detectors.verification``).
        rerank: With ``verify``, also re-rank faces by the verifier's probability (in tracking only for
            a model that stores thresholds for re-ranked scores: see :func:`prepare_for_tracking`).
        verbose: Show ONNX Runtime's own log (hidden otherwise).
    """

    name: str = "faceboxes"
    threshold: float | None = None
    threads: int | None = 1
    device: str = "auto"
    max_side: int | None = 1024
    upscale: float = 1.0
    accurate: bool = False
    mirrored: bool = False
    min_side: int | None = None
    mask_score: float | None = None
    verify: bool = True
    rerank: bool = True
    verbose: bool = False

    def load(self) -> Any:
        """The loaded detector (``detectors.OnnxFaceDetector``), not yet prepared for tracking.

        Raises:
            DetectorLoadError: If the model cannot be found or read.
            VerifierLoadError: If ``verify`` is set and the face verifier cannot be loaded.
            ValueError: If an option is invalid (e.g. an unknown device).
        """
        import detectors  # looked up at call time, so tests can substitute load_detector
        from detectors.tta import MIRRORED, TestTimeAugmentation

        tta = TestTimeAugmentation() if self.accurate else MIRRORED if self.mirrored else None
        return detectors.load_detector(self.name, score_threshold=self.threshold, threads=self.threads,
                                       device=self.device, max_side=self.max_side, upscale=self.upscale, min_side=self.min_side,
                                       tta=tta, verify=self.verify, rerank=self.rerank,
                                       verbose=self.verbose)

    def load_for_tracking(self) -> Any:
        """The loaded detector switched to tracking use (see :func:`prepare_for_tracking`): what
        every worker process of a batch runs."""
        detector = self.load()
        prepare_for_tracking(detector, self.mask_score)
        return detector
