"""Grouping face tracks into people: agglomerative clustering, average linkage, a distance cut and
cannot-link constraints (two tracks seen at the same time in one video are two people); and a label
for every track of a batch, naming tight groups after gallery people (:func:`label_tracks`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from apps.descriptors import DESCRIPTOR_SIZE, distances
from apps.gallery import NAME_MARGIN, NAME_THRESHOLD, Gallery

GROUP_DISTANCE = 0.55
"""Two groups merge while the average distance between their tracks' descriptors is below this
(on lfw-dev: pairwise F1 0.90 at 0.55, 0.89 at 0.5; see benchmarks/identity.py)."""
NAMING_GROUP_DISTANCE = 0.45
"""Tracks are named in groups cut at this distance (tighter than :data:`GROUP_DISTANCE`, so a group is one
person): a known person's shot just past the naming threshold is named with the rest of the group, an
unknown look-alike only if the group as a whole is as near (``benchmarks/identity_selection.md``)."""


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


def label_tracks(tracks: Sequence[np.ndarray], gallery: Gallery | None, cannot_link: np.ndarray | None = None,
                 threshold: float = NAME_THRESHOLD, margin: float = NAME_MARGIN,
                 naming_cut: float = NAMING_GROUP_DISTANCE, cut: float = GROUP_DISTANCE) -> list[str]:
    """A label per track of a batch: a gallery person's name, or ``unknown-N``.

    The tracks (each a (K, 128) array of descriptors, K >= 1) are first grouped at
    ``naming_cut`` and each group named together at ``threshold`` and ``margin``
    (:meth:`apps.gallery.Gallery.name_group`; a ``naming_cut`` of 0 names every track alone); the tracks
    of the groups left unnamed are then grouped at ``cut`` into ``unknown-1``, ``unknown-2``... (numbered
    in the order of their first track). ``cannot_link`` as for :func:`group`.
    """
    count = len(tracks)
    apart = np.zeros((count, count), bool) if cannot_link is None else np.asarray(cannot_link, bool)
    labels: list[str | None] = [None] * count
    if gallery is not None and gallery.names and count:
        groups = np.array(group(tracks, apart, cut=naming_cut))
        for number in np.unique(groups):
            members = np.flatnonzero(groups == number)
            name = gallery.name_group([tracks[index] for index in members], threshold, margin)
            for index in members:
                labels[index] = name
    unnamed = [index for index, label in enumerate(labels) if label is None]
    numbers = group([tracks[index] for index in unnamed], apart[np.ix_(unnamed, unnamed)], cut) if unnamed else []
    for index, number in zip(unnamed, numbers):
        labels[index] = f"unknown-{number + 1}"
    return [str(label) for label in labels]
