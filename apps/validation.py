"""Checks of command-line values that typer's ranges cannot express (NaN passes any range), as typer
callbacks: a bad value is a usage error (exit code 2) before anything is loaded or touched."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import typer

_logger = logging.getLogger("facetrack")


def finite_number(low: float, high: float = math.inf, *,
                  low_inclusive: bool = True) -> Callable[[Optional[float]], Optional[float]]:
    """A callback accepting a finite number from ``low`` (included unless ``low_inclusive`` is False)
    up to ``high`` (included); None (the option not given) passes."""
    bound = f"{'at least' if low_inclusive else 'more than'} {low:g}" + (f" and at most {high:g}" if high < math.inf else "")

    def check(value: Optional[float]) -> Optional[float]:
        if value is None:
            return None
        too_low = value < low if low_inclusive else value <= low
        if not math.isfinite(value) or too_low or value > high:
            raise typer.BadParameter(f"{value:g} is not a finite number {bound}")
        return value

    return check


def threads_up_to_cores(value: Optional[int]) -> Optional[int]:
    """A callback capping a thread count at the machine's cores, with a warning: more threads than
    cores only make the detector's threads wait for each other (1000 threads stalled a run)."""
    cores = os.cpu_count() or 1
    if value is None or value <= cores:
        return value
    _logger.warning(f"--threads {value} is more than the {cores} CPU cores of this machine: using {cores}")
    return cores


def non_empty_path(value: str | os.PathLike) -> Path:
    """A typer parser for a path option that must name something: ``-o ''`` would silently mean the
    current folder (``Path('')`` is ``.``)."""
    if str(value) == "":
        raise typer.BadParameter("an empty path names no folder (use -o . for the current folder)")
    return Path(value)
