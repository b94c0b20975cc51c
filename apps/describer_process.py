"""Face descriptors computed in a child process, so the detect+track thread keeps running meanwhile.

A descriptor takes about 30 ms (dlib's landmarks, the alignment, SFace). Descriptors were first
dlib's, and dlib holds Python's GIL while it computes (a Python loop made 7 % of its progress while a
thread described faces); a child process keeps the detect+track thread free of whatever the describer
holds. One child process per tracking process (spawned on first use, about a second to start and load
the models; shared by every video that process tracks) describes the faces it is sent, in order;
callers submit a face and later collect its descriptor."""

from __future__ import annotations

import atexit
import functools
import itertools
import multiprocessing
import queue
import threading
import time

import numpy as np

_POLL_SECONDS = 0.1


def _serve(requests: multiprocessing.Queue, results: multiprocessing.Queue) -> None:
    """The child process: describe every ``(key, image, box)`` request until ``None``; answer
    ``(key, descriptor or None, seconds)`` (None: the face could not be described)."""
    from apps.descriptors import FaceDescriber

    describer = FaceDescriber()
    while (request := requests.get()) is not None:
        key, image, box = request
        started = time.perf_counter()
        try:
            descriptor = describer.describe(image, box)
        except Exception:  # noqa: BLE001 - a face that cannot be aligned has no descriptor; the others go on
            descriptor = None
        results.put((key, descriptor, time.perf_counter() - started))


class DescriberProcess:
    """A child process describing faces (:class:`apps.descriptors.FaceDescriber`), thread-safe."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process holding threads
        self._requests = context.Queue()
        self._results = context.Queue()
        self._process = context.Process(target=_serve, args=(self._requests, self._results),
                                        name="facetrack-describer", daemon=True)
        self._process.start()
        self._keys = itertools.count()
        self._done: dict[int, np.ndarray | None] = {}
        self._lock = threading.Lock()
        self.seconds: list[float] = []
        """Time the child took for each face described so far."""

    def submit(self, image: np.ndarray, box: np.ndarray) -> int:
        """Queue the face of ``box`` (``[x1, y1, x2, y2]`` in ``image``, BGR uint8); returns its key."""
        key = next(self._keys)
        self._requests.put((key, np.ascontiguousarray(image), np.asarray(box, np.float64)[:4]))
        return key

    def result(self, key: int) -> np.ndarray | None:
        """The descriptor of ``key`` (None: no face could be described), waiting for it if needed; once.

        Raises:
            RuntimeError: The child process died.
        """
        with self._lock:
            while key not in self._done:
                try:
                    self._store(self._results.get(timeout=_POLL_SECONDS))
                except queue.Empty:
                    if not self._process.is_alive():
                        raise RuntimeError("the face describer process died") from None
            return self._done.pop(key)

    def describe(self, image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """The descriptor of one face, waiting for it (and for the faces queued before it)."""
        return self.result(self.submit(image, box))

    def _store(self, answer: tuple[int, np.ndarray | None, float]) -> None:
        key, descriptor, seconds = answer
        self._done[key] = descriptor
        self.seconds.append(seconds)

    def close(self) -> None:
        """Stop the child process."""
        if self._process.is_alive():
            self._requests.put(None)
            self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()


@functools.lru_cache(maxsize=1)
def shared_describer_process() -> DescriberProcess:
    """The one :class:`DescriberProcess` of this process, started on first use, stopped at exit."""
    describer = DescriberProcess()
    atexit.register(describer.close)
    return describer
