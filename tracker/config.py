"""Tuning parameters of :class:`tracker.FaceTracker`.

All distances are relative (IoU, box heights, histogram distances) so the
defaults work for any frame resolution; all durations that matter to a user
are in seconds and converted to frames with the video's fps.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrackerConfig:
    """Parameters of the face tracker, with defaults chosen for 25-30 fps video.

    Detection scores:

    * ``high_score`` (0.5): detections at or above this score take part in the
      first association round and may start new tracks. 0.5 is the usual
      operating point of face detectors (RetinaFace/SCRFD/YuNet report
      calibrated-ish probabilities), so new tracks only come from confident faces.
    * ``low_score`` (0.1): detections in ``[low_score, high_score)`` are only
      used in a second round to extend already confirmed tracks (the ByteTrack
      idea: a face that is blurred or half occluded gets a low score but is still
      at the right place). Below 0.1 detections are mostly background noise and
      are dropped.

    Association:

    * ``iou_gate`` (0.2): minimum IoU between a predicted track box and a
      high-score detection. Faces are small and move fast relative to their
      size (a head turn moves the box by a large fraction of its width), so the
      gate is looser than the 0.3 of SORT; same value as ByteTrack's first round.
    * ``low_iou_gate`` (0.4): stricter IoU gate for the low-score round, because
      low-score detections are less reliable and should only extend a track
      they clearly overlap (ByteTrack uses 0.5 there; faces move more).
    * ``use_appearance`` (True): add a colour-histogram distance to the cost of
      every round. It breaks ties between crossing faces and picks the right
      lost track when re-identifying a face after an occlusion. Exposed so a
      benchmark can measure its effect.
    * ``appearance_weight`` (0.3): weight of the appearance distance in the
      cost ``(1 - w) * motion + w * appearance``. Motion stays the main cue
      (colour histograms of faces are similar between people), appearance only
      decides when motion is ambiguous.
    * ``appearance_momentum`` (0.1): exponential moving average rate of a
      track's histogram; 0.1 at 25 fps averages over ~0.4 s, robust to a few
      bad frames but following slow lighting changes.

    Re-identification of lost tracks (confirmed tracks that missed at least one
    detector frame), in a third round after the IoU rounds:

    * ``reid_max_center_distance`` (2.0) and ``reid_radius_seconds`` (1.0):
      a lost track may match a left-over high-score detection whose centre is
      within a radius of its prediction, whatever the IoU. The radius, in box
      heights, grows linearly with the time since the track's last detection,
      reaching ``reid_max_center_distance`` after ``reid_radius_seconds``
      (2 heights per second by default). The error of the constant-velocity
      prediction grows with the occlusion: a face that stops or turns during
      1-2 s ends up one or two heights away; but a face missed for a few
      frames cannot have moved far from its prediction, and a distant
      detection then is rather a new face (e.g. one coming out from behind
      another). 0 disables this round.
    * ``reid_max_distance`` (0.5): with appearance enabled, such a pair is only
      allowed if the Bhattacharyya distance of the colour histograms is at most
      this value: distance alone is weak evidence, and a new face appearing
      next to a lost track must not take its id. The same face under slightly
      different light scores about 0.1-0.35, differently coloured faces, hair
      or skin 0.5 and more.

    Lifecycle:

    * ``min_hits`` (2): a track is confirmed, gets an id and is output after
      this many matched detections. Two consecutive detections remove almost
      all single-frame false positives while delaying output by one frame only.
      Tracks started on the very first frame of a video are confirmed at once
      (nothing before it could tell a face from a false positive).
    * ``max_coast_frames`` (2): a confirmed track missed by the detector is
      still output (with its predicted box) for this many *detector* frames;
      it bridges detector flicker without showing ghosts for long. Frames on
      which the detector did not run are never misses.
    * ``max_age_seconds`` (2.0): a lost track is kept (predicted, not output,
      available for re-identification) for this long after its last detection,
      then removed. Occlusions by a passing person last about 0.5-1.5 s.

    Best crop:

    * ``crop_margin`` (0.2): margin around the detection box, as a fraction of
      the box size on each side, for the saved crop (keeps hair and chin).
    * ``quality_check_every`` (5): a track's detection is scored for crop
      quality at most on every 5th hit (0.2 s at 25 fps), and only if it could
      beat the best crop so far. Consecutive frames are nearly identical, so
      this loses little while cutting the crop work by 5x.
    * ``max_crop_checks`` (4): at most this many crops are scored per frame
      (those that could improve their track's best crop the most come first),
      bounding the crop work to a fraction of a millisecond however many faces
      are visible; with 50 faces each is still checked about twice a second.
    """

    high_score: float = 0.5
    low_score: float = 0.1
    iou_gate: float = 0.2
    low_iou_gate: float = 0.4
    use_appearance: bool = True
    appearance_weight: float = 0.3
    appearance_momentum: float = 0.1
    reid_max_center_distance: float = 2.0
    reid_radius_seconds: float = 1.0
    reid_max_distance: float = 0.5
    min_hits: int = 2
    max_coast_frames: int = 2
    max_age_seconds: float = 2.0
    crop_margin: float = 0.2
    quality_check_every: int = 5
    max_crop_checks: int = 4

    def __post_init__(self) -> None:
        if not 0.0 <= self.low_score <= self.high_score:
            raise ValueError("need 0 <= low_score <= high_score")
        if not (0.0 < self.iou_gate <= 1.0 and 0.0 < self.low_iou_gate <= 1.0):
            raise ValueError("IoU gates must be in (0, 1]")
        if not 0.0 <= self.appearance_weight <= 1.0:
            raise ValueError("appearance_weight must be in [0, 1]")
        if not 0.0 < self.appearance_momentum <= 1.0:
            raise ValueError("appearance_momentum must be in (0, 1]")
        if min(self.min_hits, self.quality_check_every, self.max_crop_checks) < 1 or self.max_coast_frames < 0:
            raise ValueError("min_hits, quality_check_every, max_crop_checks must be >= 1, max_coast_frames >= 0")
        if min(self.max_age_seconds, self.reid_max_center_distance, self.reid_radius_seconds) < 0.0:
            raise ValueError("max_age_seconds, reid_max_center_distance, reid_radius_seconds must be >= 0")
