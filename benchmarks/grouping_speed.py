"""How long grouping the tracks of a batch into people takes (``apps.grouping.group``, run once per
``--identify`` batch, twice with ``--known-faces``).

    python benchmarks/grouping_speed.py [--tracks 1000 2000 4000 8000] [--descriptors 3] [--seed 0]

Synthetic descriptors: a quarter as many people as tracks, each a random unit vector in the
descriptor space, each track that vector plus noise that puts two tracks of one person about 0.3
apart (dlib's same-person distances are mostly under 0.6), so most tracks merge. Prints tracks,
descriptors per track, seconds and groups found.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.descriptors import DESCRIPTOR_SIZE  # noqa: E402
from apps.grouping import group  # noqa: E402


def synthetic_tracks(count: int, descriptors: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` tracks of ``descriptors`` descriptors each, four tracks per synthetic person."""
    people = rng.normal(size=(max(count // 4, 1), DESCRIPTOR_SIZE))
    people /= np.linalg.norm(people, axis=1, keepdims=True)
    noise = 0.2 / np.sqrt(DESCRIPTOR_SIZE)
    return [(people[index % len(people)] + noise * rng.normal(size=(descriptors, DESCRIPTOR_SIZE))).astype(np.float32)
            for index in range(count)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracks", type=int, nargs="+", default=[1000, 2000, 4000, 8000])
    parser.add_argument("--descriptors", type=int, default=3, help="descriptors per track (the app keeps up to 3)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print("| tracks | descriptors per track | seconds | groups |\n|---:|---:|---:|---:|")
    for count in args.tracks:
        tracks = synthetic_tracks(count, args.descriptors, rng)
        started = time.perf_counter()
        labels = group(tracks)
        print(f"| {count} | {args.descriptors} | {time.perf_counter() - started:.2f} | {len(set(labels))} |", flush=True)


if __name__ == "__main__":
    main()
