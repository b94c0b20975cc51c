"""Grouping face tracks into people: agglomerative clustering, average linkage, a distance cut and
cannot-link constraints (two tracks seen at the same time in one video are two people); and a label
for every track of a batch, naming tight groups after gallery people (:func:`label_tracks`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from apps.descriptors import DESCRIPTOR_SIZE, distances
from apps.gallery import NAME_MARGIN, NAME_THRESHOLD, Gallery

GROUP_DISTANCE = 1.145
"""Two groups merge while the average distance between their tracks' descriptors is below this (on
lfw-dev 0.32 % of different-person pairs and 95 % of same-person pairs are nearer; dlib's 0.55 carried
over to SFace at the same share of different-person pairs: ``benchmarks/identity.py --match-thresholds``)."""
NAMING_GROUP_DISTANCE = 1.037
"""Tracks are named in groups cut at this distance (tighter than :data:`GROUP_DISTANCE`, so a group is one
person): a known person's shot just past the naming threshold is named with the rest of the group, an
unknown look-alike only if the group as a whole is as near (``benchmarks/identity_selection.md``; dlib's
0.45 carried over as :data:`GROUP_DISTANCE` was)."""

#: Descriptor pairs whose distances are computed at once by :func:`track_distances` (a 128 MB block).
_DISTANCE_BLOCK = 16_000_000
#: The average-linkage distance of two tracks that may not be together: a group holding such a pair is
#: at least ``_APART / (n1 * n2)`` from the other (sizes n1, n2), far above any cut for any batch size.
_APART = 1e15


def track_distances(tracks: Sequence[np.ndarray]) -> np.ndarray:
    """(N, N) distances between tracks: the mean distance between their descriptors (each track an
    (K, 128) array, K >= 1). Computed a block of tracks at a time, so memory stays O(N^2) whatever K."""
    rows = [np.asarray(track, np.float32).reshape(-1, DESCRIPTOR_SIZE) for track in tracks]
    sizes = np.array([len(row) for row in rows])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    every = np.concatenate(rows)
    sums = np.empty((len(rows), len(rows)))
    first = 0
    while first < len(rows):
        last = first + 1  # a block of whole tracks, at least one
        while last < len(rows) and (starts[last] + sizes[last] - starts[first]) * len(every) <= _DISTANCE_BLOCK:
            last += 1
        block = distances(every[starts[first] : starts[last - 1] + sizes[last - 1]], every)
        per_track = np.add.reduceat(block, starts[first:last] - starts[first], axis=0)
        sums[first:last] = np.add.reduceat(per_track, starts, axis=1)
        first = last
    return sums / np.outer(sizes, sizes)


def group(tracks: Sequence[np.ndarray], cannot_link: np.ndarray | None = None,
          cut: float = GROUP_DISTANCE) -> list[int]:
    """A group number per track (0, 1, ... in order of each group's first track).

    Average-linkage agglomerative clustering: the two nearest groups merge, the distance from the
    merged group to any other being the mean over all their track pairs, until no two groups are
    nearer than ``cut``. ``cannot_link`` (an (N, N) boolean matrix) forbids merging two groups when
    any track of one may not be with any track of the other. SciPy's average linkage (nearest-neighbour
    chain, O(N^2) time) builds the tree; a forbidden pair weighs :data:`_APART`, so no group holding one
    ever comes under the cut.
    """
    count = len(tracks)
    if count < 2:
        return [0] * count
    between = track_distances(tracks)
    between[~np.isfinite(between)] = _APART  # a broken descriptor joins nobody
    if cannot_link is not None:
        between = np.where(np.asarray(cannot_link, bool), _APART, between)
    np.fill_diagonal(between, 0.0)
    tree = linkage(squareform(between, checks=False), method="average")
    clusters = fcluster(tree, t=np.nextafter(cut, -np.inf), criterion="distance")  # merged while nearer than cut
    numbers: dict[int, int] = {}
    return [numbers.setdefault(int(cluster), len(numbers)) for cluster in clusters]


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
