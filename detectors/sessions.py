"""An ONNX Runtime session on the device asked for, or one line saying why it cannot run there.

ONNX Runtime, given a provider that cannot start (a CUDA library missing, no GPU), logs screens of
errors and either raises or quietly runs on the CPU. Here each accelerator is tried on its own with
ONNX Runtime's fallback off and its output captured: an accelerator asked for by name that does not
start is a :class:`DeviceUnavailable` naming the reason; under ``auto`` the next one is tried, down
to the CPU, and the reason becomes a one-line note. With ``verbose`` ONNX Runtime's log is shown.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from detectors.providers import CPU_PROVIDER, CUDA_PROVIDERS, DeviceError, choose_providers

#: ONNX Runtime's log severities: warning (shown with ``verbose``) and error (captured otherwise).
VERBOSE_SEVERITY, QUIET_SEVERITY = 2, 3

_MISSING_LIBRARY = re.compile(r"([\w.+-]+\.(?:so[\w.]*|dll|dylib)): cannot open shared object file")
_NO_DEVICE = re.compile(r"no CUDA-capable device|CUDA driver version is insufficient")
_ERROR_TEXT = re.compile(r"(?:\[ONNXRuntimeError\] : \d+ : \w+ : |EP Error:? )(.+)")


class DeviceUnavailable(DeviceError):
    """The device asked for by name cannot run the detector here."""


@contextmanager
def captured_native_output() -> Iterator[Callable[[], str]]:
    """Send this process's stdout and stderr (native code included) to a file while the block runs;
    yields a function returning what was written."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = [os.dup(fd) for fd in (1, 2)]
        try:
            for fd in (1, 2):
                os.dup2(sink.fileno(), fd)
            yield lambda: _read(sink)
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)


def _read(sink: Any) -> str:
    sink.flush()
    sink.seek(0)
    return sink.read().decode(errors="replace")


def failure_reason(log: str, error: BaseException | None = None) -> str:
    """The reason in one short phrase, from the exception ONNX Runtime raised (if any), else its log.

    A library named missing in the exception comes first, then a missing device, then a library
    named missing in the log (an exception such as TensorRT's "Please install TensorRT libraries"
    names none), then the exception's or the log's last error text.
    """
    text = "" if error is None else str(error)
    if not _MISSING_LIBRARY.search(text) and _NO_DEVICE.search(f"{text}\n{log}"):
        return "no usable CUDA device (driver or GPU missing)"
    missing = _MISSING_LIBRARY.findall(text) or _MISSING_LIBRARY.findall(log)
    if missing:
        driver = " (the NVIDIA driver)" if missing[-1].startswith("libcuda.so") else ""
        return f"{missing[-1]}{driver} is missing"
    source = text or log
    lines = [line.strip() for line in (_ERROR_TEXT.findall(source) or source.splitlines()) if line.strip()]
    return lines[-1] if lines else "it did not start (ONNX Runtime's log says why: shown with --verbose)"


def session_options(threads: int | None = None) -> Any:
    """ONNX Runtime session options with ``threads`` intra-op threads (None or 0: ONNX Runtime decides)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return options


def _preload_cuda(ort: Any) -> None:
    """Load CUDA and cuDNN from the pip packages of ``onnxruntime-gpu[cuda,cudnn]`` (ONNX Runtime
    1.21+); older versions find them on the system's library path only."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        try:
            preload()
        except (OSError, RuntimeError):
            pass  # the session attempt that follows reports what is missing


@contextmanager
def _native_output(verbose: bool) -> Iterator[Callable[[], str]]:
    """ONNX Runtime's output: shown as it comes with ``verbose`` (nothing to read), else captured."""
    if verbose:
        yield lambda: ""
        return
    with captured_native_output() as output:
        yield output


def _attempt(ort: Any, factory: Callable[..., Any], path: str, options: Any, provider: str,
             verbose: bool) -> tuple[Any | None, str]:
    """A session whose first provider is ``provider``, or None and the reason it did not start."""
    with _native_output(verbose) as output:
        try:
            if provider in CUDA_PROVIDERS:
                _preload_cuda(ort)
            session = factory(path, sess_options=options, providers=[provider, CPU_PROVIDER], enable_fallback=0)
        except Exception as error:  # noqa: BLE001 - onnxruntime raises several unrelated types
            return None, failure_reason(output(), error)
        if session.get_providers()[0] != provider:  # ONNX Runtime fell back to the CPU on its own
            return None, failure_reason(output())
    return session, ""


def open_session(path: str, options: Any, device: str = "auto", verbose: bool = False,
                 ort: Any = None, factory: Callable[..., Any] | None = None) -> tuple[Any, str | None]:
    """A session on ``device`` and, when ``auto`` had to skip an accelerator, a note saying why.

    Args:
        path: ONNX model file.
        options: ``onnxruntime.SessionOptions``; its log severity is set here.
        device: ``auto`` or a name of :data:`detectors.providers.DEVICE_PROVIDERS`.
        verbose: Show ONNX Runtime's own log instead of capturing it.
        ort: The ``onnxruntime`` module (tests pass a stand-in).
        factory: Session constructor (default ``ort.InferenceSession``).

    Raises:
        DeviceUnavailable: ``device`` was named and its provider does not start here.
        DeviceError: ``device`` is unknown or not offered by the installed ONNX Runtime.
        Exception: Whatever ONNX Runtime raises for a model it cannot load on the CPU.
    """
    if ort is None:
        import onnxruntime as ort
    factory = factory or ort.InferenceSession
    severity = VERBOSE_SEVERITY if verbose else QUIET_SEVERITY
    ort.set_default_logger_severity(severity)
    options.log_severity_level = severity
    reasons = []
    for provider in choose_providers(ort.get_available_providers(), device)[:-1]:
        session, reason = _attempt(ort, factory, path, options, provider, verbose)
        if session is not None:
            return session, None
        reasons.append(f"{provider.removesuffix('ExecutionProvider')}: {reason}")
    session = factory(path, sess_options=options, providers=[CPU_PROVIDER])
    if reasons and device != "auto":
        raise DeviceUnavailable(f"--device {device} cannot run here ({reasons[0]})")
    return session, f"running on the CPU ({'; '.join(reasons)})" if reasons else None
