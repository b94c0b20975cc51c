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
    * ``reid_max_distance`` (0.6): with appearance enabled, such a pair is only
      allowed if the Bhattacharyya distance of the colour histograms is at most
      this value: distance alone is weak evidence, and a new face appearing
      next to a lost track must not take its id. The same face under slightly
      different light scores about 0.1-0.35, differently coloured faces, hair
      or skin 0.5 and more; but a face is re-identified when it comes back
      into view, often only partly visible (cut by the border or still half
      behind someone), and such partial views of the same face score up to
      about 0.6 against the histogram of the whole face.

    Faces cut by the frame border (see :mod:`tracker.border`):

    * ``border_tolerance`` (0.1): a detection side within this fraction of the
      box size (and at least 1 px) of the frame edge is taken as cut by the
      border and is completed to the full face box. Detector boxes of a cut
      face end a few per cent inside or outside the edge; a face merely close
      to the edge loses nothing, its completed box is nearly its detection.
    * ``face_aspect`` (0.8): initial width / height of a face box, used to
      complete cut detections that start a track (matched tracks use their
      own aspect). It is then learned from the uncut detections (a moving
      average of each detector frame's median), so it follows the detector's
      box shape; 0.8 is typical of RetinaFace/SCRFD-style face boxes.

    Lifecycle:

    * ``min_hits`` (2): a track is confirmed, gets an id and is output after
      this many matched detections. Two detections remove almost all
      single-frame false positives while delaying output by one detector
      frame. Tracks started on the very first frame of a video are confirmed
      at once (nothing before it could tell a face from a false positive).
    * ``instant_confirm_score`` (0.8): a track started by a detection scoring
      at least this is confirmed and output at once, on probation: until it
      reaches ``min_hits`` hits it is hidden as soon as it is missed, removed
      like a tentative track, and never reported as finished. Waiting for a
      second detection costs a whole detector period of output when the
      detector runs every k-th frame; confident detections are rarely false
      positives, and a one-off one is then shown only until the next
      detector frame. A value above 1 disables it.
    * ``max_tentative_misses`` (1): a track with fewer than ``min_hits`` hits
      (tentative or on probation) survives this many consecutive missed
      detector frames, hidden. One dropped detection (detectors miss a face
      now and then) then does not restart the track and its confirmation;
      a false positive still needs a second detection at the same place.
    * ``max_coast_frames`` (2): a confirmed track missed by the detector is
      still output (with its predicted box) for this many *detector* frames;
      it bridges detector flicker without showing ghosts for long. Frames on
      which the detector did not run are never misses.
    * ``min_coast_visible`` (0.55): a missed track is only output while at
      least this fraction of its predicted (full face) box is inside the
      frame. Detectors find faces that are at least about half visible, so a
      track missed while mostly outside has most likely left: showing it
      would show a ghost at the border. Slightly above one half, so that a
      lost track held at the border (its centre on the edge, exactly half
      inside) is hidden.
    * ``max_age_seconds`` (4.0): a lost track is kept (predicted, not output,
      available for re-identification) for this long after its last detection,
      then removed. Occlusions by a passing person last about 0.5-1.5 s, but a
      person stepping out of the picture and back, or hidden by a group,
      is gone for 2-4 s; with the re-identification radius and colour gate a
      kept track rarely takes a new face, and it costs little (lost tracks
      are not output).

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

    Follow windows (:meth:`FaceTracker.follow`, frames without a full scan; see
    :mod:`tracker.follow`):

    * ``follow_window_scale`` (2.0) and ``follow_max_window_scale`` (4.0): a
      window is at least 2 and at most 4 times the face; in between it grows
      with the face's speed and its prediction's uncertainty. At 2 the face
      fills half of the detector's tile (112 of 224 px, where FaceBoxes finds
      and places faces best) and a face moving half its width per frame beyond
      its prediction stays inside; tighter windows (1.25-1.6) lost context and
      tracking quality on the end-to-end clips.
    * ``follow_lost_seconds`` (0.5): lost tracks keep their window this long
      after their last measurement (a face turned away or blurred for a few
      frames is found again where it was predicted); older lost tracks wait
      for a full scan and re-identification.
    * ``max_follow_windows`` (32): windows per frame. The tracks with the most
      uncertain predictions (relative to their size) come first; the others
      are only predicted on that frame, as without windows, and not counted
      as missed.
    * ``follow_size_ratio`` (0.6): a window's detection measures its track only
      if its size is within this ratio of the predicted size (either way).
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
    reid_max_distance: float = 0.6
    border_tolerance: float = 0.1
    face_aspect: float = 0.8
    min_hits: int = 2
    instant_confirm_score: float = 0.8
    max_tentative_misses: int = 1
    max_coast_frames: int = 2
    min_coast_visible: float = 0.55
    max_age_seconds: float = 4.0
    crop_margin: float = 0.2
    quality_check_every: int = 5
    max_crop_checks: int = 4
    follow_window_scale: float = 2.0
    follow_max_window_scale: float = 4.0
    follow_lost_seconds: float = 0.5
    max_follow_windows: int = 32
    follow_size_ratio: float = 0.6

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
        if self.max_tentative_misses < 0 or not 0.0 <= self.min_coast_visible <= 1.0:
            raise ValueError("max_tentative_misses must be >= 0 and min_coast_visible in [0, 1]")
        if self.border_tolerance < 0.0 or self.face_aspect <= 0.0:
            raise ValueError("border_tolerance must be >= 0 and face_aspect > 0")
        if min(self.max_age_seconds, self.reid_max_center_distance, self.reid_radius_seconds) < 0.0:
            raise ValueError("max_age_seconds, reid_max_center_distance, reid_radius_seconds must be >= 0")
        if not 1.0 <= self.follow_window_scale <= self.follow_max_window_scale or self.follow_lost_seconds < 0.0:
            raise ValueError("need 1 <= follow_window_scale <= follow_max_window_scale and follow_lost_seconds >= 0")
        if self.max_follow_windows < 0 or not 0.0 < self.follow_size_ratio <= 1.0:
            raise ValueError("max_follow_windows must be >= 0 and follow_size_ratio in (0, 1]")
