"""Graceful stop on Ctrl-C / SIGTERM: the first signal asks the pipeline to finish, a second exits."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class StopSignals:
    """Context manager turning SIGINT/SIGTERM into a stop event.

    The first signal sets :attr:`event` (outputs are finalised by the pipeline); a second one
    exits immediately with the conventional code (130 for SIGINT, 143 for SIGTERM).
    Outside the main thread the handlers cannot be installed and only the event is provided.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_number: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def exit_code(self) -> int | None:
        """Exit code for the received signal, None if none was received."""
        return EXIT_CODES.get(self.signal_number) if self.signal_number is not None else None

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        if self.event.is_set():
            sys.stderr.write("\nStopping immediately.\n")
            sys.stderr.flush()
            os._exit(EXIT_CODES.get(number, 1))
        self.signal_number = number
        self.event.set()
        sys.stderr.write("\nStopping: finishing the outputs (press Ctrl-C again to quit at once)...\n")
        sys.stderr.flush()

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for number in EXIT_CODES:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def _exit_interrupted(_number: int, _frame: FrameType | None) -> NoReturn:
    raise SystemExit(EXIT_CODES[signal.SIGINT])


@contextmanager
def interrupt_exits() -> Iterator[None]:
    """Within the block, Ctrl-C exits at once with 130 and no traceback (``SystemExit``), wherever it
    lands: inside a native import such as ONNX Runtime's, or in a typer version that turns
    ``KeyboardInterrupt`` into ``Aborted!`` and exit code 1. :class:`StopSignals` takes over during a
    run. An ignored SIGINT (``nohup``, a background job) stays ignored; other threads change nothing."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, _exit_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
