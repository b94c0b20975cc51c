"""One output folder holds one run: a re-run is written beside the earlier one and replaces it whole.

A run into a new (or empty) folder writes there directly. A folder that already holds files (an
earlier run) is left alone while the new run is written into a hidden sibling,
``.<name>.facetrack-run``; when the run reached the end of its input that sibling replaces the
folder (two renames on one file system), otherwise it is deleted and the earlier results stay as
they were. A sibling left behind by a killed run is removed by the next run into the same folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from apps.writers import OutputWriteError

#: Run statuses whose outputs replace an earlier run: the input was processed to its end (``incomplete``:
#: its end came early, a property of the input, not of this run).
REPLACING_STATUSES = frozenset({"complete", "incomplete"})


def _sibling(folder: Path, role: str) -> Path:
    """The hidden folder beside ``folder`` used for ``role`` (``run``: the new run, ``old``: the one it replaces)."""
    return folder.with_name(f".{folder.name}.facetrack-{role}")


def _holds_files(folder: Path) -> bool:
    """True when ``folder`` exists and is not empty."""
    try:
        return any(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return False


class RunFolder:
    """Where one run writes (:attr:`path`) and how it takes the place of an earlier run in :attr:`folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        #: True when ``folder`` holds an earlier run, so this run is written beside it.
        self.replacing = _holds_files(folder)
        self.path = _sibling(folder, "run") if self.replacing else folder
        try:
            if self.replacing:
                shutil.rmtree(self.path, ignore_errors=True)  # left by a killed run
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputWriteError(f"cannot create output folder {self.path}: {error.strerror}") from error

    def finish(self, status: str) -> bool:
        """Put this run in :attr:`folder` if ``status`` is one of :data:`REPLACING_STATUSES` (or there was no
        earlier run), else delete it; True when :attr:`folder` now holds this run."""
        if not self.replacing:
            return True
        if status not in REPLACING_STATUSES:
            shutil.rmtree(self.path, ignore_errors=True)
            return False
        earlier = _sibling(self.folder, "old")
        shutil.rmtree(earlier, ignore_errors=True)
        try:
            os.replace(self.folder, earlier)
            try:
                os.replace(self.path, self.folder)
            except OSError:
                os.replace(earlier, self.folder)  # put the earlier run back
                raise
        except OSError as error:
            raise OutputWriteError(f"cannot replace {self.folder} with the new run: {error.strerror}") from error
        shutil.rmtree(earlier, ignore_errors=True)
        return True

    @property
    def kept_note(self) -> str:
        """What to tell the user when :meth:`finish` kept the earlier run."""
        return f"the earlier results in {self.folder} are kept"
