"""The README and the command line agree: every option a user-facing command takes is documented, and
every option the README's tables promise exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from apps.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
#: Commands a user runs day to day (train's many tuning options are documented by its --help).
USER_COMMANDS = ("track", "detect", "evaluate", "export", "train-verifier")
COMMANDS = typer.main.get_command(app).commands


def documented(option: str) -> bool:
    """Whether ``option`` (e.g. ``--verify``) appears in the README as a whole word."""
    return re.search(re.escape(option) + r"(?![\w-])", README) is not None


@pytest.mark.parametrize("command", USER_COMMANDS)
def test_every_option_of_a_user_command_is_in_the_readme(command: str) -> None:
    missing = []
    for parameter in COMMANDS[command].params:
        names = [name for name in (*parameter.opts, *parameter.secondary_opts) if name.startswith("--")]
        if names and "--help" not in names and not any(documented(name) for name in names):
            missing.append("/".join(names))
    assert not missing, f"{command}: options missing from the README: {missing}"


def test_every_option_in_the_readme_options_table_exists() -> None:
    rows = [line for line in README.splitlines() if line.startswith("| `--")]
    assert len(rows) > 20
    listed = {name for row in rows for name in re.findall(r"--[a-z][a-z0-9-]*", row.split("|")[1])}
    known = {name for command in COMMANDS.values() for parameter in command.params
             for name in (*parameter.opts, *parameter.secondary_opts)}
    assert listed <= known, sorted(listed - known)
