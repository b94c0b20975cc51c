"""The picture of a training run: losses and dev AP per face-size bucket over the epochs."""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

#: File name of the plot in the run folder.
PLOT_NAME = "training.png"


def read_log(log_path: Path) -> list[dict]:
    """The records of a run's ``log.jsonl``, one per epoch."""
    return [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]


def plot_training(records: list[dict], output: Path) -> Path:
    """Write a PNG with the loss terms (left) and the dev AP per bucket (right) over the epochs."""
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    losses, aps = figure.subplots(1, 2)
    epochs = [record["epoch"] + 1 for record in records]
    for name in sorted({key for record in records for key in record if key.endswith("_loss")}):
        losses.plot(epochs, [record.get(name, float("nan")) for record in records], marker=".", label=name)
    losses.set(title="training losses (epoch means)", xlabel="epoch", yscale="log")
    evaluated = [record for record in records if record.get("dev_ap")]
    for bucket in evaluated[0]["dev_ap"] if evaluated else ():
        values = [record["dev_ap"][bucket] for record in evaluated]
        aps.plot([record["epoch"] + 1 for record in evaluated], [float("nan") if v is None else v for v in values],
                 marker="o", label=f"{bucket} px" if bucket != "all" else "all")
    aps.set(title="dev AP@0.5 per face size", xlabel="epoch", ylim=(0, 1))
    for axes in (losses, aps):
        axes.grid(alpha=0.3)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if axes.has_data():
            axes.legend(fontsize="small")
    figure.savefig(output, dpi=100)
    return output


def plot_run(run_dir: Path) -> Path:
    """``run_dir/training.png`` from ``run_dir/log.jsonl``."""
    return plot_training(read_log(run_dir / "log.jsonl"), run_dir / PLOT_NAME)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Redraw training.png of training runs from their log.jsonl.")
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    for run in parser.parse_args().run_dirs:
        print(plot_run(run))
