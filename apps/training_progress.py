"""Training on the console: a progress bar per epoch (running losses, ETA) and a table row per epoch."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from detectors.evaluation.ap import SIZE_BUCKETS


def _losses(record: dict) -> list[str]:
    """Names of the loss terms of an epoch record (``cls_loss``, ``loc_loss``...), in record order."""
    return [key for key in record if key.endswith("_loss")]


def epoch_header(record: dict) -> str:
    """Column titles of :func:`epoch_row` for records like ``record``."""
    titles = ["epoch", *(name.removesuffix("_loss") for name in _losses(record)), "lr", "seconds",
              *(f"AP {bucket}" for bucket in SIZE_BUCKETS)]
    return "  ".join(f"{title:>9}" for title in titles)


def epoch_row(record: dict) -> str:
    """One line per epoch: losses, learning rate, seconds and the dev AP per bucket (``-`` when not evaluated)."""
    dev_ap = record.get("dev_ap") or {}
    cells = [str(record["epoch"] + 1), *(f"{record[name]:.4f}" for name in _losses(record)), f"{record['lr']:.2e}",
             f"{record['train_seconds']:.0f}",
             *("-" if dev_ap.get(bucket) is None else f"{dev_ap[bucket]:.3f}" for bucket in SIZE_BUCKETS)]
    return "  ".join(f"{cell:>9}" for cell in cells)


class RichTrainingProgress:
    """A :class:`detectors.training.progress.TrainingProgress` drawing on a rich console; use it as a
    context manager around the training."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[losses]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=True,
        )
        self.task: TaskID | None = None
        self.header_shown = False

    def __enter__(self) -> RichTrainingProgress:
        self.bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.bar.stop()

    def epoch_started(self, epoch: int, epochs: int, steps: int) -> None:
        """A new bar for the epoch."""
        self.task = self.bar.add_task(f"epoch {epoch + 1}/{epochs}", total=steps, losses="")

    def step_done(self, step: int, losses: dict[str, float]) -> None:
        """Advance the bar; show the running mean of every loss term."""
        shown = "  ".join(f"{name} {value:.4f}" for name, value in losses.items())
        self.bar.update(self.task, completed=step, losses=shown)

    def evaluation_started(self) -> None:
        """Say that the dev AP is being computed."""
        self.bar.update(self.task, losses="computing the dev AP")

    def epoch_done(self, record: dict) -> None:
        """Replace the bar by the epoch's table row (the header before the first)."""
        self.bar.remove_task(self.task)
        if not self.header_shown:
            self.console.print(epoch_header(record), markup=False, highlight=False)
            self.header_shown = True
        self.console.print(epoch_row(record), markup=False, highlight=False)
