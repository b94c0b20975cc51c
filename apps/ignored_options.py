"""Options a run ignores in its mode (issue 24): each one given on the command line is one
``warning:`` line and the run goes on; a URL given as a path is recognised so it can be pointed at
``--stream``."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import typer

_logger = logging.getLogger("facetrack")

#: ``rtsp://``, ``http://``... as a path: a ``Path`` folds the double slash (``rtsp:/host``).
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


def looks_like_url(path: Path) -> bool:
    """True for an argument such as ``rtsp://camera/live`` (a scheme of two letters or more, so a
    Windows drive letter is not one)."""
    return bool(_URL.match(path.as_posix()))


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the parameter ``name`` was typed on the command line (not its default); compared by
    name: typer ships its own copy of click's ``ParameterSource``."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def ignored_options(ctx: typer.Context, live_option: str | None, engine_ray: bool, crops_all: bool) -> list[str]:
    """The warnings for the options of ``ctx`` the run will ignore.

    Args:
        ctx: The ``track`` command's context (which parameters were given).
        live_option: ``--webcam`` or ``--stream`` for a live run, None for files.
        engine_ray: ``--engine ray`` was chosen.
        crops_all: ``--crops all`` was chosen.
    """
    live = live_option is not None
    rules = [
        (live and _given(ctx, "paths"), f"file paths are ignored with {live_option}"),
        (live and _given(ctx, "workers"), f"--workers is ignored with {live_option} (it applies to files)"),
        (live and _given(ctx, "engine"), f"--engine is ignored with {live_option} (it applies to files)"),
        (not engine_ray and _given(ctx, "ray_address"), "--ray-address is ignored without --engine ray"),
        (not crops_all and _given(ctx, "crop_every"), "--crop-every is ignored without --crops all"),
        (not live and _given(ctx, "duration"), "--duration is ignored for files (it applies to --webcam and --stream)"),
    ]
    return [message for applies, message in rules if applies]


def warn_ignored_options(ctx: typer.Context, live_option: str | None, engine_ray: bool, crops_all: bool) -> None:
    """One ``warning:`` line (the ``facetrack`` logger) per ignored option."""
    for message in ignored_options(ctx, live_option, engine_ray, crops_all):
        _logger.warning(message)
