"""Multi-face tracker: SORT-style Kalman tracks with ByteTrack two-round association.

Per video frame, :meth:`FaceTracker.update`:

1. predicts every track one frame ahead (Kalman);
2. if the detector ran on this frame:

   * round 1 - detections scoring at least ``high_score`` against all tracks
     (tentative, confirmed and lost); lost tracks may also be re-identified by
     centre distance and colour when the prediction drifted off the face;
   * round 2 - detections in ``[low_score, high_score)`` against the confirmed
     tracks left over, IoU only with a stricter gate (ByteTrack);
   * tracks left unmatched record a miss, unmatched high-score detections
     start tentative tracks, tracks with ``min_hits`` hits get the next id;
   * the detections that could most improve their track's best crop are
     scored for crop quality (a bounded number per frame);

3. removes tentative tracks that were missed and lost tracks older than
   ``max_age_seconds``, queueing the confirmed ones for :meth:`pop_finished`;
4. returns the confirmed tracks that are matched or have coasted for at most
   ``max_coast_frames`` detector frames.
"""

from __future__ import annotations

import numpy as np

from .appearance import appearance_distance_matrix, colour_embeddings
from .association import Assignment, add_appearance, assign, motion_cost
from .config import TrackerConfig
from .geometry import clip_box
from .results import FinishedTrack, TrackedFace
from .track import Track


def _valid_detections(detections: np.ndarray) -> np.ndarray:
    """Return the detections as an (N, 5) float64 array without non-finite or empty boxes."""
    array = np.asarray(detections, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 5))
    if array.ndim != 2 or array.shape[1] != 5:
        raise ValueError(f"detections must have shape (N, 5), got {array.shape}")
    keep = np.isfinite(array).all(axis=1) & (array[:, 2] > array[:, 0]) & (array[:, 3] > array[:, 1])
    return array[keep]


class FaceTracker:
    """Track faces across the frames of one video; call :meth:`update` once per frame."""

    def __init__(self, config: TrackerConfig | None = None, fps: float = 25.0) -> None:
        """Create a tracker for a video running at ``fps`` frames per second."""
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.config = config if config is not None else TrackerConfig()
        self.fps = float(fps)
        self.max_age_frames = int(round(self.config.max_age_seconds * self.fps))
        self._tracks: list[Track] = []
        self._finished: list[FinishedTrack] = []
        self._next_id = 1
        self._frame_index = -1

    def reset(self) -> None:
        """Forget all tracks and pending finished tracks; ids restart at 1."""
        self._tracks = []
        self._finished = []
        self._next_id = 1
        self._frame_index = -1

    def update(self, detections: np.ndarray | None, frame: np.ndarray | None) -> list[TrackedFace]:
        """Advance the tracker by one frame and return the visible confirmed faces.

        ``detections`` is an (N, 5) ``[x1, y1, x2, y2, score]`` array, or None if
        the detector did not run on this frame (tracks are then only predicted
        and nobody counts as missed). ``frame`` is the HxWx3 BGR image, used for
        the appearance cue, crops and box clipping; it may be None.
        """
        self._frame_index += 1
        for track in self._tracks:
            track.predict()
        if detections is not None:
            self._associate(_valid_detections(detections), frame)
        self._remove_expired()
        return self._visible_faces(frame)

    def pop_finished(self) -> list[FinishedTrack]:
        """Return the confirmed tracks removed since the last call, and forget them."""
        finished, self._finished = self._finished, []
        return finished

    def finalize(self) -> list[FinishedTrack]:
        """End the video: finish every live confirmed track and return all unpopped finished tracks."""
        self._finished.extend(track.finish() for track in self._tracks if track.confirmed)
        self._tracks = []
        return self.pop_finished()

    def _associate(self, detections: np.ndarray, frame: np.ndarray | None) -> None:
        """Run both association rounds on a detector frame and update the track set."""
        cfg = self.config
        scores = detections[:, 4]
        embeddings = None
        if cfg.use_appearance and frame is not None:
            embeddings = colour_embeddings(frame, detections[:, :4])
        high = np.flatnonzero(scores >= cfg.high_score)
        low = np.flatnonzero((scores >= cfg.low_score) & (scores < cfg.high_score))

        first = self._match(self._tracks, detections, high, embeddings, cfg.iou_gate, allow_reid=True)
        matched = {int(t) for t in first.matches[:, 0]}
        leftover = [t for i, t in enumerate(self._tracks) if i not in matched and t.confirmed]
        second = self._match(leftover, detections, low, embeddings, cfg.low_iou_gate, allow_reid=False)

        pairs = [(self._tracks[t], high[d]) for t, d in first.matches]
        pairs += [(leftover[t], low[d]) for t, d in second.matches]
        for track, index in pairs:
            embedding = embeddings[index] if embeddings is not None and scores[index] >= cfg.high_score else None
            track.update(detections[index, :4], scores[index], self._frame_index, embedding, cfg.appearance_momentum)
        updated = {id(track) for track, _ in pairs}
        for track in self._tracks:
            if id(track) not in updated:
                track.mark_missed()

        for index in high[first.unmatched_detections]:
            embedding = None if embeddings is None else embeddings[index]
            track = Track(detections[index, :4], scores[index], self._frame_index, embedding)
            pairs.append((track, index))
            self._tracks.append(track)

        for track in self._tracks:
            if not track.confirmed and track.hits >= cfg.min_hits:
                track.track_id = self._next_id
                self._next_id += 1
        if frame is not None:
            self._update_best_crops(pairs, detections, frame)

    def _match(
        self,
        tracks: list[Track],
        detections: np.ndarray,
        indices: np.ndarray,
        embeddings: np.ndarray | None,
        iou_gate: float,
        *,
        allow_reid: bool,
    ) -> Assignment:
        """Assign the detections of rows ``indices`` to ``tracks``; lost tracks may re-id if allowed."""
        cfg = self.config
        track_boxes = np.array([track.box for track in tracks]).reshape(-1, 4)
        reid_tracks = np.array([allow_reid and track.lost and track.confirmed for track in tracks], dtype=bool)
        cost = motion_cost(track_boxes, detections[indices, :4], iou_gate, reid_tracks, cfg.reid_max_center_distance)
        if embeddings is not None:
            distance = self._appearance_distances(tracks, embeddings[indices])
            cost = add_appearance(cost, distance, cfg.appearance_weight, cfg.reid_max_distance)
        return assign(cost.cost, cost.allowed)

    def _appearance_distances(self, tracks: list[Track], embeddings: np.ndarray) -> np.ndarray:
        """Return track x detection colour distances; tracks without colour get the neutral gate value."""
        distance = np.full((len(tracks), len(embeddings)), self.config.reid_max_distance)
        known = [i for i, track in enumerate(tracks) if track.embedding is not None]
        if known and len(embeddings):
            track_embeddings = np.stack([tracks[i].embedding for i in known])
            distance[known] = appearance_distance_matrix(track_embeddings, embeddings)
        return distance

    def _update_best_crops(self, pairs: list[tuple[Track, int]], detections: np.ndarray, frame: np.ndarray) -> None:
        """Score the crops of the detections most likely to improve their track's best crop.

        At most ``max_crop_checks`` crops are scored per frame, by decreasing
        possible gain, so the cost stays bounded however many faces are visible.
        """
        cfg = self.config
        candidates = []
        for track, index in pairs:
            box, score = detections[index, :4], detections[index, 4]
            gain = track.crop_gain(frame.shape, box, score, cfg.crop_margin, cfg.quality_check_every)
            if gain > 1.0:
                candidates.append((gain, track, index))
        candidates.sort(key=lambda candidate: candidate[0], reverse=True)
        for _, track, index in candidates[: cfg.max_crop_checks]:
            track.offer_crop(frame, detections[index, :4], detections[index, 4], self._frame_index, cfg.crop_margin)

    def _remove_expired(self) -> None:
        """Drop missed tentative tracks and lost tracks older than the maximum age."""
        alive = []
        for track in self._tracks:
            expired = track.lost and (not track.confirmed or track.frames_since_update > self.max_age_frames)
            if not expired:
                alive.append(track)
            elif track.confirmed:
                self._finished.append(track.finish())
        self._tracks = alive

    def _visible_faces(self, frame: np.ndarray | None) -> list[TrackedFace]:
        """Return the confirmed tracks to show on this frame, sorted by id."""
        faces = []
        for track in self._tracks:
            if not track.confirmed or track.misses > self.config.max_coast_frames:
                continue
            box = track.box
            if frame is not None:
                box = clip_box(box, frame.shape[1], frame.shape[0])
                if box[2] <= box[0] or box[3] <= box[1]:
                    continue
            faces.append(
                TrackedFace(
                    track_id=int(track.track_id),
                    box=box,
                    score=track.score,
                    detected=track.frames_since_update == 0,
                    age_frames=self._frame_index - track.first_frame + 1,
                    hits=track.hits,
                )
            )
        return sorted(faces, key=lambda face: face.track_id)
