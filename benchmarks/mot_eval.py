"""CLEAR-MOT / ID metrics of tracker output against synthetic ground truth (motmetrics).

motmetrics 1.4.0 calls ``np.asfarray`` in ``distances.iou_matrix``, which
NumPy 2 removed, so the IoU distance matrix is computed here instead.

Ignored ground truth (``GroundTruthBox.ignored``) is handled as in the
MOTChallenge devkit: per frame, hypotheses are matched (IoU >= 0.5, Hungarian)
against all ground truth; hypotheses matched to ignored boxes are dropped, then
the ignored boxes themselves are dropped before accumulation.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import motmetrics as mm
import numpy as np
from scipy.optimize import linear_sum_assignment

if TYPE_CHECKING:
    from benchmarks.synthetic import GroundTruthBox

IOU_THRESHOLD = 0.5
METRICS = [
    "num_frames", "num_objects", "num_unique_objects", "mota", "motp", "idf1", "idp", "idr",
    "num_switches", "num_fragmentations", "num_false_positives", "num_misses",
    "mostly_tracked", "partially_tracked", "mostly_lost",
]
COUNT_METRICS = {m for m in METRICS if m.startswith(("num_", "mostly_", "partially_"))}
#: What happened to a face between its last match and an ID switch -> metric name.
SWITCH_CAUSES = {"outside": "switches_after_exit", "hidden": "switches_after_hidden", "visible": "switches_in_view"}

#: One hypothesis: (track id, (x1, y1, x2, y2)).
Hypothesis = tuple[int, Sequence[float]]
#: Tracker output of a clip: the hypotheses of each frame, indexed by frame.
Tracked = Sequence[Sequence[Hypothesis]]


def iou_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU between every pair of (x1, y1, x2, y2) boxes, shape (len(a), len(b))."""
    a = np.asarray(boxes_a, np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _drop_ignored(gt: list[GroundTruthBox], hyps: list[Hypothesis]) -> tuple[list[GroundTruthBox], list[Hypothesis]]:
    """Remove ignored ground truth and the hypotheses matched to it."""
    if not any(g.ignored for g in gt):
        return gt, hyps
    kept_gt = [g for g in gt if not g.ignored]
    if not hyps:
        return kept_gt, hyps
    iou = iou_matrix(np.array([g.box for g in gt]), np.array([h[1] for h in hyps]))
    rows, cols = linear_sum_assignment(-iou)
    dropped = {c for r, c in zip(rows, cols) if gt[r].ignored and iou[r, c] >= IOU_THRESHOLD}
    return kept_gt, [h for i, h in enumerate(hyps) if i not in dropped]


def accumulate(gt_boxes: Sequence[GroundTruthBox], tracked_per_frame: Tracked) -> mm.MOTAccumulator:
    """Build a motmetrics accumulator; ``tracked_per_frame[f]`` holds the hypotheses of frame f."""
    by_frame: dict[int, list[GroundTruthBox]] = defaultdict(list)
    for g in gt_boxes:
        by_frame[g.frame].append(g)
    frames = max(len(tracked_per_frame), max(by_frame, default=-1) + 1)
    acc = mm.MOTAccumulator(auto_id=True)
    for f in range(frames):
        hyps = list(tracked_per_frame[f]) if f < len(tracked_per_frame) else []
        gt, hyps = _drop_ignored(by_frame.get(f, []), hyps)
        iou = iou_matrix(np.array([g.box for g in gt]), np.array([h[1] for h in hyps]))
        dist = np.where(iou >= IOU_THRESHOLD, 1.0 - iou, np.nan)
        acc.update([g.face_id for g in gt], [int(h[0]) for h in hyps], dist)
    return acc


def switch_causes(gt_boxes: Sequence[GroundTruthBox], acc: mm.MOTAccumulator) -> dict[str, int]:
    """Count ID switches by what happened to the face since it was last matched.

    ``switches_after_exit``: it left the frame; ``switches_after_hidden``: it was
    ignored (mostly hidden) but stayed in the frame; ``switches_in_view``: it
    stayed evaluable (e.g. a swap between crossing faces, or a missed detection).
    """
    state = {(g.frame, g.face_id): "hidden" if g.ignored else "visible" for g in gt_boxes}
    causes = dict.fromkeys(SWITCH_CAUSES.values(), 0)
    last_match: dict[int, int] = {}
    events = acc.mot_events.reset_index()
    matches = events.loc[events.Type.isin(["MATCH", "SWITCH"]), ["FrameId", "Type", "OId"]]
    for frame, kind, face in matches.itertuples(index=False):
        face, frame = int(face), int(frame)
        if kind == "SWITCH":
            between = {state.get((f, face), "outside") for f in range(last_match.get(face, frame) + 1, frame)}
            cause = "outside" if "outside" in between else "hidden" if "hidden" in between else "visible"
            causes[SWITCH_CAUSES[cause]] += 1
        last_match[face] = frame
    return causes


def _metrics(row: Mapping[str, float], causes: Mapping[str, int]) -> dict[str, float]:
    """A motmetrics summary row as plain numbers, plus switches per 1000 GT boxes and switch causes."""
    out = {k: int(v) if k in COUNT_METRICS else float(v) for k, v in row.items()}
    objects = out["num_objects"]
    out["switches_per_1000"] = 1000.0 * out["num_switches"] / objects if objects else 0.0
    out.update(causes)
    return out


def evaluate_many(runs: Mapping[str, tuple[Sequence[GroundTruthBox], Tracked]]) -> dict[str, dict[str, float]]:
    """Metrics per named run plus an ``OVERALL`` entry aggregating all runs."""
    accs = {name: accumulate(gt, tracked) for name, (gt, tracked) in runs.items()}
    causes = {name: switch_causes(runs[name][0], acc) for name, acc in accs.items()}
    causes["OVERALL"] = {key: sum(c[key] for c in causes.values()) for key in SWITCH_CAUSES.values()}
    summary = mm.metrics.create().compute_many(
        list(accs.values()), metrics=METRICS, names=list(accs), generate_overall=True
    )
    return {str(name): _metrics(row, causes[str(name)]) for name, row in summary.iterrows()}


def evaluate_tracking(gt_boxes: Sequence[GroundTruthBox], tracked_per_frame: Tracked) -> dict[str, float]:
    """MOTA, MOTP (1 - IoU), IDF1, ID switches (also per 1000 GT boxes, and by cause), MT/PT/ML, FP, FN, ..."""
    acc = accumulate(gt_boxes, tracked_per_frame)
    summary = mm.metrics.create().compute(acc, metrics=METRICS, name="clip")
    return _metrics(summary.iloc[0], switch_causes(gt_boxes, acc))


def format_table(rows: Sequence[Mapping[str, object]], columns: Mapping[str, str]) -> str:
    """Plain-text table of ``rows`` with ``columns`` = {key: header}; floats below 10 get 3 decimals, others 1."""
    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        return str(value)

    cells = [[cell(row.get(key, "")) for key in columns] for row in rows]
    headers = list(columns.values())
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)
