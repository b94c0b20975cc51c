"""What the training loop reports while it runs, and the plain reporter (one JSON line per epoch)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol


class TrainingProgress(Protocol):
    """Receives the events of a training run (see :func:`detectors.training.train.train`)."""

    def epoch_started(self, epoch: int, epochs: int, steps: int) -> None:
        """Epoch ``epoch`` (0-based) of ``epochs`` starts; it has ``steps`` batches."""

    def step_done(self, step: int, losses: dict[str, float]) -> None:
        """Batch ``step`` (1-based) is done; ``losses`` are the epoch's running means so far."""

    def evaluation_started(self) -> None:
        """The dev-set AP of this epoch is being computed."""

    def epoch_done(self, record: dict) -> None:
        """The epoch's ``log.jsonl`` record (losses, lr, ``dev_ap`` per bucket when evaluated)."""


class JsonLines:
    """Reports each epoch as its ``log.jsonl`` line through ``log``; batches are not reported."""

    def __init__(self, log: Callable[[str], None] = print) -> None:
        self.log = log

    def epoch_started(self, epoch: int, epochs: int, steps: int) -> None:
        """Nothing to report."""

    def step_done(self, step: int, losses: dict[str, float]) -> None:
        """Nothing to report."""

    def evaluation_started(self) -> None:
        """Nothing to report."""

    def epoch_done(self, record: dict) -> None:
        """One JSON line."""
        self.log(json.dumps(record))
