"""Uniform average of the weights of several checkpoints of one model (an average of the last
epochs of a run, as in stochastic weight averaging; Izmailov et al. 2018).

    python -m detectors.training.average --output soup.pt runs/x/epoch_016.pt runs/x/epoch_017.pt ...

The result is a checkpoint like ``best.pt``: ``start.py export`` exports it and
``start.py train --init-from`` starts from it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from detectors.training.ema import evaluated_weights


def average_checkpoints(paths: Sequence[str | Path]) -> dict:
    """A checkpoint whose weights are the mean of the evaluated weights of ``paths``.

    Floating-point tensors are averaged; integer ones (batch-norm step counters) come from the
    first checkpoint, as do ``config`` and the other entries; ``epoch`` is the latest one.

    Raises:
        ValueError: Without checkpoints, or when they hold different tensors or shapes.
    """
    if not paths:
        raise ValueError("no checkpoints to average")
    checkpoints = [torch.load(path, weights_only=True) for path in paths]
    states = [evaluated_weights(checkpoint) for checkpoint in checkpoints]
    first = states[0]
    for path, state in zip(paths, states):
        if state.keys() != first.keys() or any(state[name].shape != first[name].shape for name in first):
            raise ValueError(f"{path} holds other tensors than {paths[0]}: not the same model")
    averaged = {
        name: torch.stack([state[name].float() for state in states]).mean(dim=0).to(tensor.dtype)
        if tensor.is_floating_point() else tensor
        for name, tensor in first.items()
    }
    extras = {key: value for key, value in checkpoints[0].items() if key not in ("model", "optimizer", "ema")}
    epochs = [int(checkpoint.get("epoch", -1)) for checkpoint in checkpoints]
    return {**extras, "model": averaged, "epoch": max(epochs), "averaged_from": [str(path) for path in paths]}


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: average the checkpoints given into ``--output``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--output", "-o", type=Path, required=True)
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    torch.save(average_checkpoints(args.checkpoints), args.output)
    print(f"wrote {args.output}: the average of {len(args.checkpoints)} checkpoints")


if __name__ == "__main__":
    main()
