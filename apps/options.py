"""Options of a tracking run, shared by the file, batch and live modes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from apps.anonymize import AnonymizeMode
from apps.video_writers import VideoSettings
from tracker import TrackerConfig


class CropMode(str, Enum):
    """Which face crops are written to ``faces/<track-id>/``."""

    best = "best"
    all = "all"
    none = "none"


@dataclass
class TrackingOptions:
    """How one video is processed.

    Attributes:
        detect_every: Scan the whole frame with the detector on every N-th frame (and at shot cuts).
        follow: On the frames between scans, look for every tracked face in a window around its
            prediction (one batched detector call); False: tracks are only predicted there.
        shot_cuts: Find hard cuts; a cut ends every track (no id crosses it) and starts a scan.
        crops: ``best`` (one crop per track), ``all`` (one every ``crop_every`` frames per track,
            plus the best) or ``none``.
        crop_every: Frames between two crops of a track in ``all`` mode.
        write_video: Write ``annotated.mp4``.
        video: Codec, quality and audio of ``annotated.mp4``.
        display: Show a window with the annotated frames (live mode); ``q`` stops.
        anonymize: Hide every tracked face (and every fresh detection) in the output video
            instead of drawing boxes; None draws boxes and ids.
        anonymize_margin: Growth of the hiding ellipse beyond the face box, per side.
        anonymize_lost_seconds: With ``anonymize``, a track the detector lost stays hidden this long
            at its predicted place, its mask growing with the prediction's uncertainty (the
            detector misses a face now and then: a mask must not let it through meanwhile).
        identify: Describe every finished track's best crop (128-D face descriptor, the
            ``identity`` extra) into ``identity.json``, for naming and grouping people.
        tracker: Tracker settings.
    """

    detect_every: int = 5
    follow: bool = True
    shot_cuts: bool = True
    crops: CropMode = CropMode.best
    crop_every: int = 25
    write_video: bool = True
    video: VideoSettings = field(default_factory=VideoSettings)
    display: bool = False
    anonymize: AnonymizeMode | None = None
    anonymize_margin: float = 0.2
    anonymize_lost_seconds: float = 2.0
    identify: bool = False
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
