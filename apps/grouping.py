"""Grouping face tracks into people: agglomerative clustering, average linkage, a distance cut and
cannot-link constraints (two tracks seen at the same time in one video are two people)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from apps.descriptors import DESCRIPTOR_SIZE, distances

GROUP_DISTANCE = 0.55
"""Two groups merge while the average distance between their tracks' descriptors is below this
(on lfw-dev: pairwise F1 0.90 at 0.55, 0.89 at 0.5; see benchmarks/identity.py)."""


def track_distances(tracks: Sequence[np.ndarray]) -> np.ndarray:
    """(N, N) distances between tracks: the mean distance between their descriptors (each track an
    (K, 128) array, K >= 1)."""
    rows = [np.asarray(track, np.float32).reshape(-1, DESCRIPTOR_SIZE) for track in tracks]
    owners = np.repeat(np.arange(len(rows)), [len(row) for row in rows])
    membership = np.zeros((len(rows), len(owners)))
    membership[owners, np.arange(len(owners))] = 1.0
    every = np.concatenate(rows)
    sums = membership @ distances(every, every) @ membership.T
    counts = membership.sum(axis=1)
    return sums / np.outer(counts, counts)


def group(tracks: Sequence[np.ndarray], cannot_link: np.ndarray | None = None,
          cut: float = GROUP_DISTANCE) -> list[int]:
    """A group number per track (0, 1, ... in order of each group's first track).

    Average-linkage agglomerative clustering: the two nearest groups merge, the distance from the
    merged group to any other being the mean over all their track pairs, until no two groups are
    nearer than ``cut``. ``cannot_link`` (an (N, N) boolean matrix) forbids merging two groups when
    any track of one may not be with any track of the other.
    """
    count = len(tracks)
    if count == 0:
        return []
    between = track_distances(tracks)
    forbidden = np.zeros((count, count), bool) if cannot_link is None else np.array(cannot_link, bool)
    sizes = np.ones(count)
    members: dict[int, list[int]] = {index: [index] for index in range(count)}
    while len(members) > 1:
        candidates = np.where(forbidden, np.inf, between)
        np.fill_diagonal(candidates, np.inf)
        first, second = np.unravel_index(int(np.argmin(candidates)), candidates.shape)
        if candidates[first, second] >= cut:
            break
        keep, gone = min(first, second), max(first, second)
        merged = (sizes[keep] * between[keep] + sizes[gone] * between[gone]) / (sizes[keep] + sizes[gone])
        between[keep, :] = between[:, keep] = merged
        forbidden[keep, :] = forbidden[:, keep] = forbidden[keep] | forbidden[gone]
        between[gone, :] = between[:, gone] = np.inf
        forbidden[gone, :] = forbidden[:, gone] = True
        sizes[keep] += sizes[gone]
        members[keep].extend(members.pop(gone))
    labels = [0] * count
    for number, key in enumerate(sorted(members)):  # a group's key is its first track (the lower one stays)
        for track in members[key]:
            labels[track] = number
    return labels
