"""Multi-face tracker: SORT-style Kalman tracks, ByteTrack two-score association, re-identification.

Tracks hold the *full* face box, which may reach outside the frame; detections
cut by the frame border are completed to full face boxes before they update a
track (see :mod:`tracker.border`), and IoU is computed between predicted boxes
clipped to the frame and the detections as they are.

Per video frame, :meth:`FaceTracker.update`:

1. predicts every track one frame ahead (Kalman); a lost track whose
   prediction leaves the frame is held at the border where it left;
2. if the detector ran on this frame:

   * round 1 - detections scoring at least ``high_score`` against all tracks
     (tentative, confirmed and lost), gated by IoU;
   * round 2 - detections in ``[low_score, high_score)`` against the confirmed
     tracks left over, with a stricter IoU gate (ByteTrack);
   * round 3 - re-identification: high-score detections left over against
     lost tracks left over, gated by centre distance (and colour): during an
     occlusion the prediction may drift so far that IoU is zero. The radius
     grows with the time the track has been lost, and running this round
     after the IoU rounds keeps it from stealing a detection that an active
     track overlaps;
   * tracks left unmatched record a miss, unmatched high-score detections
     start tentative tracks, tracks with ``min_hits`` hits, started on the
     very first frame of the video or started by a detection scoring at least
     ``instant_confirm_score`` get the next id;
   * the detections that could most improve their track's best crop are
     scored for crop quality (a bounded number per frame);

3. removes unproven tracks (fewer than ``min_hits`` hits) missed more than
   ``max_tentative_misses`` times in a row and lost tracks older than
   ``max_age_seconds``, queueing the proven confirmed ones for :meth:`pop_finished`;
4. returns the confirmed tracks that are matched or (proven ones only) have
   coasted for at most ``max_coast_frames`` detector frames while at least
   ``min_coast_visible`` of their predicted box is inside the frame.

In every round the cost mixes the motion cost with the colour-histogram
distance when ``use_appearance`` is on, which breaks ties between crossing faces.

On frames without a full scan, :meth:`FaceTracker.follow` replaces step 2:
every live track gets a window around its prediction (:mod:`tracker.follow`),
the caller's detector looks inside the windows only, and each track's best
gated detection updates it like a full detection; a followed track without
one records a miss. Followed frames start no track (new faces appear at full
scans). :meth:`FaceTracker.end_shot` ends every track at a shot cut, so no
identity is carried across it by position or colour.

With an ``identity`` (:class:`tracker.reid.FaceIdentity`, face descriptors), ended tracks stay
dormant until the end of the video: a new track showing the same face takes the ended track's id
when it is confirmed, and a lost track refuses a re-identification (round 3) whose face clearly
disagrees. Without one, nothing of this runs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from .appearance import appearance_distance_matrix, colour_embeddings
from .association import GatedCost, add_appearance, assign, distance_cost, iou_cost
from .border import complete_boxes, cut_sides, visible_fractions
from .config import TrackerConfig
from .follow import follow_cost, follow_windows, merge_window_detections
from .geometry import clip_boxes, iou_matrix
from .reid import MAX_DORMANT_TRACKS, FaceIdentity
from .results import FinishedTrack, TrackedFace
from .track import Track, track_boxes

FACE_ASPECT_RATE = 0.1
"""Rate of the moving average of the typical face aspect ratio (per detector frame)."""

#: Looks for faces inside square windows ``(N, 4)`` of a frame: one (K, 5) detection array per window.
WindowDetector = Callable[[np.ndarray, np.ndarray], list[np.ndarray]]


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

    def __init__(
        self, config: TrackerConfig | None = None, fps: float = 25.0, identity: FaceIdentity | None = None
    ) -> None:
        """Create a tracker for a video running at ``fps`` frames per second; ``identity`` turns on
        re-identification by face descriptors (:mod:`tracker.reid`)."""
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.config = config if config is not None else TrackerConfig()
        self.fps = float(fps)
        self.max_age_frames = round(self.config.max_age_seconds * self.fps)
        self.identity = identity
        self._tracks: list[Track] = []
        self._dormant: dict[int, Track] = {}
        self._finished: list[FinishedTrack] = []
        self._next_id = 1
        self._frame_index = -1
        self._face_aspect = self.config.face_aspect

    def reset(self) -> None:
        """Forget all tracks and pending finished tracks; ids restart at 1."""
        self._tracks = []
        self._dormant = {}
        self._finished = []
        self._next_id = 1
        self._frame_index = -1
        self._face_aspect = self.config.face_aspect

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
        if frame is not None:
            self._hold_exited_tracks(frame.shape[1], frame.shape[0])
        if detections is not None:
            self._associate(_valid_detections(detections), frame)
        self._remove_expired()
        return self._visible_faces(frame)

    def follow(self, frame: np.ndarray, detect_windows: WindowDetector) -> list[TrackedFace]:
        """Advance the tracker by one frame, measuring the live tracks in windows around their predictions.

        ``detect_windows(frame, windows)`` gets the (N, 4) square windows ``[x1, y1, x2, y2]`` of
        the followed tracks (at most ``max_follow_windows``, the most uncertain first) and returns
        one (K, 5) ``[x1, y1, x2, y2, score]`` array of frame-pixel detections per window. Returns
        the visible confirmed faces, like :meth:`update`.
        """
        self._frame_index += 1
        for track in self._tracks:
            track.predict()
        height, width = frame.shape[:2]
        self._hold_exited_tracks(width, height)
        followed = self._followed_tracks()
        if followed:
            cfg = self.config
            for track in followed:
                track.window_frame = self._frame_index
            detections = _valid_detections(merge_window_detections(detect_windows(frame, self._windows(followed))))
            embeddings = colour_embeddings(frame, detections[:, :4]) if cfg.use_appearance else None
            cut = cut_sides(detections[:, :4], width, height, cfg.border_tolerance)
            rows = [self._tracks.index(track) for track in followed]
            visible = clip_boxes(track_boxes(self._tracks), width, height)
            pairs, free, high_left = self._iou_rounds(visible, rows, detections, embeddings, low_for_all=True)
            pairs += self._window_round(visible, free, detections, high_left, embeddings)[0]
            self._update_tracks(pairs, detections, cut, embeddings, followed)
            self._update_best_crops(pairs, detections, frame)
            self._confirm_tracks()
        self._remove_expired()
        return self._visible_faces(frame)

    def followed_count(self) -> int:
        """How many follow windows :meth:`follow` would use now (before this frame's prediction)."""
        return len(self._followed_tracks())

    def end_shot(self) -> None:
        """End every track at a shot cut: the confirmed ones are finished, and ids are never reused.

        Position and colour say nothing across a cut (the same place may show someone else), so
        faces after it start new tracks (with an ``identity``, a face may get its id back).
        """
        self._retire([track for track in self._tracks if track.confirmed and self._proven(track)])
        self._tracks = []

    def _retire(self, tracks: list[Track]) -> None:
        """End ``tracks``: finished at once, or (with an ``identity``) dormant until the video ends."""
        if self.identity is None:
            self._finished.extend(track.finish() for track in tracks)
            return
        self._dormant.update((track.track_id, track) for track in tracks)
        while len(self._dormant) > MAX_DORMANT_TRACKS:
            self._finished.append(self._dormant.pop(next(iter(self._dormant))).finish())

    def pop_finished(self) -> list[FinishedTrack]:
        """Return the confirmed tracks removed since the last call, and forget them.

        A track confirmed by a single high-score detection that never reached
        ``min_hits`` hits is dropped without a record (most likely a false positive).
        """
        finished, self._finished = self._finished, []
        return finished

    def finalize(self) -> list[FinishedTrack]:
        """End the video: finish every live confirmed track and return all unpopped finished tracks."""
        self.end_shot()
        self._finished.extend(track.finish() for track in self._dormant.values())
        self._dormant = {}
        return self.pop_finished()

    def _associate(self, detections: np.ndarray, frame: np.ndarray | None) -> None:
        """Match a detector frame's detections to the tracks and update the track set."""
        cfg = self.config
        embeddings = None
        if cfg.use_appearance and frame is not None:
            embeddings = colour_embeddings(frame, detections[:, :4])
        cut = np.zeros((len(detections), 4), dtype=bool)
        if frame is not None:
            cut = cut_sides(detections[:, :4], frame.shape[1], frame.shape[0], cfg.border_tolerance)
        self._learn_face_aspect(detections, cut)
        full = complete_boxes(detections[:, :4], cut, self._face_aspect)
        pairs, unmatched_high = self._match_rounds(detections, full, embeddings, frame)
        self._update_tracks(pairs, detections, cut, embeddings)
        pairs += self._start_tracks(unmatched_high, detections, full, embeddings)
        if frame is not None:
            self._update_best_crops(pairs, detections, frame)
        self._confirm_tracks()

    def _confirm_tracks(self) -> None:
        """Give an id to every tentative track that earned one: a dormant track's when the
        ``identity`` recognises its face, else the next one."""
        cfg = self.config
        for track in self._tracks:
            # nothing precedes the first frame to tell a face from a false positive: trust it at once
            if not track.confirmed and (
                track.hits >= cfg.min_hits or track.first_frame == 0 or track.score >= cfg.instant_confirm_score
            ):
                returning = self._returning(track)
                if returning is not None:
                    track.resume(returning)
                else:
                    track.track_id = self._next_id
                    self._next_id += 1
                if self.identity is not None and track.best is not None:
                    self.identity.offer(track.track_id, track.best)

    def _returning(self, track: Track) -> Track | None:
        """The dormant track whose face the new ``track`` shows (taken out of the dormant ones), or None."""
        if self.identity is None or not self._dormant or track.best is None:
            return None
        track_id = self.identity.match(track.best, list(self._dormant))
        return None if track_id is None else self._dormant.pop(track_id)

    def _followed_tracks(self) -> list[Track]:
        """The tracks that get a follow window on this frame, the most uncertain (relative to size) first.

        Every track that is not lost, and lost ones for ``follow_lost_seconds``; at most
        ``max_follow_windows``.
        """
        cfg = self.config
        recent = cfg.follow_lost_seconds * self.fps
        live = [t for t in self._tracks if not t.lost or t.frames_since_update <= recent]
        live.sort(key=lambda t: t.kalman.position_std / max(float(t.kalman.state[3]), 1.0), reverse=True)
        return live[: cfg.max_follow_windows]

    def _match_rounds(
        self, detections: np.ndarray, full: np.ndarray, embeddings: np.ndarray | None, frame: np.ndarray | None
    ) -> tuple[list[tuple[Track, int]], np.ndarray]:
        """Return the (track, detection row) matches of all rounds and the unmatched high-score rows.

        The IoU rounds compare the predicted boxes clipped to the frame with the
        detections as they are (both show the visible part of a face); the
        re-identification round compares the centres of the full predicted
        boxes and of the completed detections ``full``.
        """
        cfg = self.config
        boxes = track_boxes(self._tracks)
        visible = boxes if frame is None else clip_boxes(boxes, frame.shape[1], frame.shape[0])
        pairs, free, high_left = self._iou_rounds(visible, list(range(len(self._tracks))), detections, embeddings)
        fast, free, high_left = self._window_round(visible, free, detections, high_left, embeddings)
        pairs += fast
        if cfg.reid_max_center_distance <= 0.0:
            return pairs, high_left
        lost = [i for i in free if self._tracks[i].lost and self._tracks[i].confirmed]
        seconds_lost = np.array([self._tracks[i].frames_since_update for i in lost]) / self.fps
        growth = np.minimum(1.0, seconds_lost / max(cfg.reid_radius_seconds, 1e-9))
        reid = partial(distance_cost, radius=cfg.reid_max_center_distance * growth)
        third, _, high_left = self._round(boxes, lost, full, high_left, embeddings, reid, cfg.reid_max_distance)
        if self.identity is not None and frame is not None:
            refused = [row for track, row in third if self.identity.disagrees(track.track_id, frame, detections[row, :4])]
            third = [(track, row) for track, row in third if row not in refused]
            high_left = np.sort(np.concatenate([high_left, refused]).astype(high_left.dtype))
        return pairs + third, high_left

    def _windows(self, tracks: list[Track]) -> np.ndarray:
        """The (N, 4) follow windows of ``tracks`` around their current predictions."""
        cfg = self.config
        states = np.array([track.kalman.state for track in tracks]).reshape(-1, 8)
        stds = np.array([track.kalman.position_std for track in tracks])
        return follow_windows(states, stds, cfg.follow_window_scale, cfg.follow_max_window_scale)

    def _window_round(
        self,
        visible: np.ndarray,
        track_rows: list[int],
        detections: np.ndarray,
        rows: np.ndarray,
        embeddings: np.ndarray | None,
    ) -> tuple[list[tuple[Track, int]], list[int], np.ndarray]:
        """Match fast faces that no longer overlap their prediction: high-score detection ``rows``
        against the tracks ``track_rows`` whose follow window holds them (:func:`tracker.follow.follow_cost`).

        Only the tracks followed in a window on this frame or the one before take part (so without
        follow windows, association is exactly that of plain scans); a detection overlapping another
        track's prediction is left to that track, and the colour gate of re-identification applies when the appearance cue is on.
        Returns the matches, the unmatched track rows and the unmatched detection rows.
        """
        cfg = self.config
        eligible = [row for row in track_rows if self._tracks[row].window_frame >= self._frame_index - 1]
        if not eligible or not len(rows):
            return [], track_rows, rows
        tracks = [self._tracks[row] for row in eligible]
        gated = follow_cost(track_boxes(tracks), self._windows(tracks), detections[rows, :4], cfg.follow_size_ratio)
        if embeddings is not None:
            distance = self._appearance_distances(tracks, embeddings[rows])
            gated = add_appearance(gated, distance, cfg.appearance_weight, cfg.reid_max_distance)
        overlaps = iou_matrix(visible, detections[rows, :4]) >= cfg.iou_gate
        claimed = np.array([np.delete(overlaps, row, axis=0).any(axis=0) for row in eligible]).reshape(gated.cost.shape)
        result = assign(gated.cost, gated.allowed & ~claimed)
        matched = {int(t) for t in result.matches[:, 0]}
        pairs = [(tracks[t], int(rows[d])) for t, d in result.matches]
        left = [row for row in track_rows if row not in eligible] + [r for i, r in enumerate(eligible) if i not in matched]
        return pairs, left, rows[result.unmatched_detections]

    def _iou_rounds(
        self, visible: np.ndarray, track_rows: list[int], detections: np.ndarray, embeddings: np.ndarray | None,
        low_for_all: bool = False,
    ) -> tuple[list[tuple[Track, int]], list[int], np.ndarray]:
        """The two IoU rounds (ByteTrack): high-score detections against the tracks ``track_rows``,
        then low-score ones, with a stricter gate, against the confirmed tracks left (``low_for_all``:
        against every track left, for follow windows, whose detections lie in the track's own window;
        a tentative track matched this way is kept, not confirmed: see :meth:`_update_tracks`).

        ``visible`` holds the predicted boxes of all tracks clipped to the frame. Returns the
        matches, the unmatched track rows and the unmatched high-score detection rows.
        """
        cfg = self.config
        scores = detections[:, 4]
        high = np.flatnonzero(scores >= cfg.high_score)
        low = np.flatnonzero((scores >= cfg.low_score) & (scores < cfg.high_score))
        first, free, high_left = self._round(
            visible, track_rows, detections[:, :4], high, embeddings, partial(iou_cost, iou_gate=cfg.iou_gate)
        )
        second_round = [i for i in free if low_for_all or self._tracks[i].confirmed]
        second, free_second, _ = self._round(
            visible, second_round, detections[:, :4], low, embeddings, partial(iou_cost, iou_gate=cfg.low_iou_gate)
        )
        free = [i for i in free if i not in second_round] + free_second
        return first + second, free, high_left

    def _round(
        self,
        boxes: np.ndarray,
        track_rows: list[int],
        detection_boxes: np.ndarray,
        rows: np.ndarray,
        embeddings: np.ndarray | None,
        cost: Callable[[np.ndarray, np.ndarray], GatedCost],
        max_appearance_distance: float | None = None,
    ) -> tuple[list[tuple[Track, int]], list[int], np.ndarray]:
        """Run one association round between some tracks and some detections.

        ``boxes`` are the predicted boxes of all tracks and ``detection_boxes``
        those of all detections, ``track_rows`` the tracks and ``rows`` the
        detections taking part; ``cost`` gives the gated
        motion cost. Returns the (track, detection row) matches, the unmatched
        track rows and the unmatched detection rows.
        """
        if not track_rows or not len(rows):
            return [], track_rows, rows
        tracks = [self._tracks[i] for i in track_rows]
        gated = cost(boxes[track_rows], detection_boxes[rows])
        if embeddings is not None:
            distance = self._appearance_distances(tracks, embeddings[rows])
            gated = add_appearance(gated, distance, self.config.appearance_weight, max_appearance_distance)
        result = assign(gated.cost, gated.allowed)
        matches = [(tracks[t], int(rows[d])) for t, d in result.matches]
        return matches, [track_rows[t] for t in result.unmatched_tracks], rows[result.unmatched_detections]

    def _update_tracks(
        self,
        pairs: list[tuple[Track, int]],
        detections: np.ndarray,
        cut: np.ndarray,
        embeddings: np.ndarray | None,
        searched: list[Track] | None = None,
    ) -> None:
        """Correct matched tracks with their detections and record a miss for the other ``searched``
        tracks (None: all tracks).

        Detections cut by the frame border are completed with the track's own
        aspect ratio and height (``cut`` holds their cut sides). Only
        high-score detections update the appearance: low-score ones are often
        partly occluded and would blend in the occluder's colours. A low-score
        detection of a tentative track (follow windows) corrects it and ends its
        misses without counting as a hit towards its confirmation.
        """
        cfg = self.config
        rows = [row for _, row in pairs]
        shapes = np.array([track.kalman.state[2:4] for track, _ in pairs]).reshape(-1, 2)
        boxes = complete_boxes(detections[rows, :4], cut[rows], shapes[:, 0], shapes[:, 1])
        for (track, row), box in zip(pairs, boxes, strict=True):
            score = detections[row, 4]
            embedding = embeddings[row] if embeddings is not None and score >= cfg.high_score else None
            # a weak detection keeps a tentative track but does not confirm it (one strong detection and
            # weak ones are what a false positive next to a face looks like)
            hit = track.confirmed or score >= cfg.high_score
            track.update(box, score, self._frame_index, embedding, cfg.appearance_momentum, hit)
        updated = {id(track) for track, _ in pairs}
        for track in self._tracks if searched is None else searched:
            if id(track) not in updated:
                track.mark_missed()

    def _start_tracks(
        self, rows: np.ndarray, detections: np.ndarray, full: np.ndarray, embeddings: np.ndarray | None
    ) -> list[tuple[Track, int]]:
        """Start a tentative track at the completed box ``full[row]`` of each detection row.

        Returns the new (track, row) pairs.
        """
        started = []
        for row in rows.tolist():
            embedding = None if embeddings is None else embeddings[row]
            track = Track(full[row], detections[row, 4], self._frame_index, embedding)
            self._tracks.append(track)
            started.append((track, row))
        return started

    def _learn_face_aspect(self, detections: np.ndarray, cut: np.ndarray) -> None:
        """Move the typical face aspect ratio towards the median of this frame's uncut high-score detections.

        It completes the cut detections that start new tracks; learning it
        adapts the tracker to the detector's box shape (square or not).
        """
        whole = detections[(detections[:, 4] >= self.config.high_score) & ~cut.any(axis=1)]
        if len(whole):
            aspect = float(np.median((whole[:, 2] - whole[:, 0]) / (whole[:, 3] - whole[:, 1])))
            self._face_aspect += FACE_ASPECT_RATE * (aspect - self._face_aspect)

    def _proven(self, track: Track) -> bool:
        """True if the track reached ``min_hits`` hits or started on the first frame (not a one-off)."""
        return track.hits >= self.config.min_hits or track.first_frame == 0

    def _appearance_distances(self, tracks: list[Track], embeddings: np.ndarray) -> np.ndarray:
        """Return track x detection colour distances; tracks without colour get the neutral gate value."""
        distance = np.full((len(tracks), len(embeddings)), self.config.reid_max_distance)
        known = [(row, track.embedding) for row, track in enumerate(tracks) if track.embedding is not None]
        if known and len(embeddings):
            rows = [row for row, _ in known]
            distance[rows] = appearance_distance_matrix(np.stack([e for _, e in known]), embeddings)
        return distance

    def _update_best_crops(self, pairs: list[tuple[Track, int]], detections: np.ndarray, frame: np.ndarray) -> None:
        """Score the crops of the detections most likely to improve their track's best crop.

        At most ``max_crop_checks`` crops are scored per frame, by decreasing
        possible gain, so the cost stays bounded however many faces are visible.
        """
        cfg = self.config
        candidates = []
        for track, row in pairs:
            box, score = detections[row, :4], detections[row, 4]
            gain = track.crop_gain(frame.shape, box, score, cfg.crop_margin, cfg.quality_check_every)
            if gain > 1.0:
                candidates.append((gain, track, row))
        candidates.sort(key=lambda candidate: candidate[0], reverse=True)
        for _, track, row in candidates[: cfg.max_crop_checks]:
            best = track.best
            track.offer_crop(frame, detections[row, :4], detections[row, 4], self._frame_index, cfg.crop_margin)
            if self.identity is not None and track.confirmed and track.best is not best:
                self.identity.offer(track.track_id, track.best)

    def _hold_exited_tracks(self, width: int, height: int) -> None:
        """Stop lost tracks whose predicted centre left the frame, at the border where they left.

        A face that walked out of the picture comes back, if at all, where it
        left; extrapolating its motion off-screen for seconds would put the
        prediction out of reach of re-identification.
        """
        for track in self._tracks:
            if track.lost:
                cx, cy = track.kalman.state[:2]
                if not (0.0 <= cx <= width and 0.0 <= cy <= height):
                    track.kalman.hold(min(max(cx, 0.0), width), min(max(cy, 0.0), height))

    def _remove_expired(self) -> None:
        """Drop unproven tracks missed too often and lost tracks older than the maximum age.

        Only proven confirmed tracks are queued as finished.
        """
        alive, ended = [], []
        for track in self._tracks:
            proven = self._proven(track)
            expired = (
                track.frames_since_update > self.max_age_frames
                if proven
                else (track.misses > self.config.max_tentative_misses)
            )
            if not (track.lost and expired):
                alive.append(track)
            elif track.confirmed and proven:
                ended.append(track)
        self._tracks = alive
        self._retire(ended)

    def lost_faces(self, max_seconds: float, frame: np.ndarray, shown: list[TrackedFace]) -> list[TrackedFace]:
        """The confirmed tracks not in ``shown`` (this frame's :meth:`update` / :meth:`follow` result)
        whose last measurement is at most ``max_seconds`` old, with their predicted boxes clipped to the
        frame (for masks that must not let a face through while the detector misses it; see
        ``apps.anonymize``)."""
        shown_ids = {face.track_id for face in shown}
        limit = max_seconds * self.fps
        lost = [t for t in self._tracks if t.confirmed and t.track_id not in shown_ids and t.frames_since_update <= limit]
        boxes = clip_boxes(track_boxes(lost), frame.shape[1], frame.shape[0])
        return [self._tracked_face(track, box) for track, box in zip(lost, boxes, strict=True)
                if box[2] > box[0] and box[3] > box[1]]

    def _tracked_face(self, track: Track, box: np.ndarray) -> TrackedFace:
        """The public record of ``track`` on this frame, shown at ``box``."""
        measured = track.frames_since_update == 0
        return TrackedFace(
            track_id=track.track_id,
            box=box,
            score=track.score,
            detected=measured,
            age_frames=self._frame_index - track.first_frame + 1,
            hits=track.hits,
            measured_box=track.measured_box.copy() if measured else None,
            position_std=track.kalman.position_std,
        )

    def _visible_faces(self, frame: np.ndarray | None) -> list[TrackedFace]:
        """Return the confirmed tracks to show on this frame, sorted by id.

        Lost tracks are shown only if proven, for at most ``max_coast_frames``
        detector frames and while at least ``min_coast_visible`` of their
        predicted box lies inside the frame: a face mostly outside is not
        detected because it left, and showing it would show a ghost.
        """
        cfg = self.config
        visible = [
            t
            for t in self._tracks
            if t.confirmed and (not t.lost or (self._proven(t) and t.misses <= cfg.max_coast_frames))
        ]
        boxes = track_boxes(visible)
        if frame is not None:
            height, width = frame.shape[:2]
            detected = np.array([not t.lost for t in visible], dtype=bool)
            shown = detected | (visible_fractions(boxes, width, height) >= cfg.min_coast_visible)
            visible = [t for t, show in zip(visible, shown, strict=True) if show]
            boxes = clip_boxes(boxes[shown], width, height)
        faces = [self._tracked_face(track, box) for track, box in zip(visible, boxes, strict=True)
                 if box[2] > box[0] and box[3] > box[1]]
        return sorted(faces, key=lambda face: face.track_id)
