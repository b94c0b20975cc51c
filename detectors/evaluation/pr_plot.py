"""Precision-recall curves per face-size bucket of one or more detectors on the same images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from detectors.datasets.sample import FaceSample
from detectors.evaluation.ap import SIZE_BUCKETS, average_precision, precision_recall_curve


def plot_precision_recall(
    samples: Sequence[FaceSample], detections: Mapping[str, Sequence[np.ndarray]], output: Path
) -> Path:
    """Write a PNG with one panel per :data:`SIZE_BUCKETS` entry and one curve per detector of
    ``detections`` (label -> detections per sample): the panels' legends give each curve's AP, the
    figure's legend below them the detectors (one colour each)."""
    figure = Figure(figsize=(4 * len(SIZE_BUCKETS), 4.6), layout="constrained")
    for axes, (bucket, (low, high)) in zip(figure.subplots(1, len(SIZE_BUCKETS)), SIZE_BUCKETS.items()):
        for index, found in enumerate(detections.values()):
            _, recall, precision, faces = precision_recall_curve(samples, found, low, high)
            if faces:
                axes.plot(recall, precision, color=f"C{index}", label=f"AP {average_precision(recall, precision):.3f}")
        title = "all faces" if bucket == "all" else f"{bucket} px faces"
        axes.set(title=title, xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
        axes.grid(alpha=0.3)
        if axes.has_data():
            axes.legend(fontsize="small", loc="lower left")
    handles = [Line2D([], [], color=f"C{index}") for index in range(len(detections))]
    figure.legend(handles, list(detections), loc="outside lower center", ncols=len(detections))
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=100)
    return output
