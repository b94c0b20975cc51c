"""The execution device: an accelerator named with ``--device`` that cannot run is one line and exit
code 2 before any input is touched; ``auto`` falls back to the CPU with one line saying why; ONNX
Runtime's own log is hidden unless ``--verbose``. ONNX Runtime is faked (provider lists and a session
factory that fails the way onnxruntime-gpu 1.31 fails on a machine without a GPU), so no GPU is needed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime
import pytest
from cli_helpers import run_cli

from detectors import WEIGHTS_DIR
from detectors.providers import CPU_PROVIDER, DeviceError
from detectors.sessions import DeviceUnavailable, failure_reason, open_session

MODEL = str(WEIGHTS_DIR / "faceboxes.onnx")
CUDA, TENSORRT = "CUDAExecutionProvider", "TensorrtExecutionProvider"

#: What onnxruntime-gpu 1.31.1 writes to stderr, then runs on the CPU, when the driver is missing
#: (recorded on this machine; paths shortened).
CUDA_LOG = (
    "\x1b[1;31m2026-12-06 01:57:11.897 [E:onnxruntime:Default, provider_bridge_ort.cc:2458 operator()] "
    "provider_bridge_ort.cc:2043 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : "
    "1 : FAIL : Failed to load library .../libonnxruntime_providers_cuda.so with error: libcuda.so.1: cannot "
    "open shared object file: No such file or directory\n\x1b[m\n\x1b[0;93m2026-12-06 01:57:11.897 "
    "[W:onnxruntime:Default, onnxruntime_pybind_state.cc:1295] Failed to create CUDAExecutionProvider. "
    "Require cuDNN 9.* and CUDA 13.*.\n"
)
#: What it raises for TensorRT without the TensorRT libraries (with ``enable_fallback=0``).
TENSORRT_ERROR = RuntimeError(
    "onnxruntime_pybind_state.cc:729 void onnxruntime::python::RegisterTensorRTPluginsAsCustomOps(...) Please "
    "install TensorRT libraries as mentioned in the GPU requirements page, make sure they're in the PATH or "
    "LD_LIBRARY_PATH, and that your GPU is supported."
)
TENSORRT_LOG = ("[E:onnxruntime:Default, provider_bridge_ort.cc:2430] [ONNXRuntimeError] : 1 : FAIL : Failed to load "
                "library .../libonnxruntime_providers_tensorrt.so with error: libnvinfer.so.10: cannot open shared "
                "object file: No such file or directory\n")
NO_DEVICE = RuntimeError("[ONNXRuntimeError] : 1 : FAIL : CUDA failure 100: no CUDA-capable device is detected")


class FakeSession:
    def __init__(self, providers: list[str]) -> None:
        self.providers = providers

    def get_providers(self) -> list[str]:
        return self.providers


class FakeOrt:
    """An ``onnxruntime`` stand-in: ``behaviour`` says what each accelerator does when a session asks
    for it: ``"ok"``, ``"log"`` (writes ``CUDA_LOG`` and runs on the CPU, as ONNX Runtime does), or an
    exception to raise (after writing ``TENSORRT_LOG``)."""

    def __init__(self, behaviour: dict[str, Any]) -> None:
        self.behaviour = behaviour
        self.severity: int | None = None
        self.preloads = 0

    def get_available_providers(self) -> list[str]:
        return [*self.behaviour, CPU_PROVIDER]

    def set_default_logger_severity(self, level: int) -> None:
        self.severity = level

    def preload_dlls(self) -> None:
        self.preloads += 1

    def InferenceSession(self, path: str, sess_options: Any, providers: list[str], **kwargs: Any) -> FakeSession:  # noqa: N802
        assert kwargs.get("enable_fallback", 1) == 0 or providers == [CPU_PROVIDER]
        outcome = self.behaviour.get(providers[0], "ok")
        if outcome == "log":
            os.write(2, CUDA_LOG.encode())
            return FakeSession([CPU_PROVIDER])
        if isinstance(outcome, BaseException):
            os.write(2, TENSORRT_LOG.encode())
            raise outcome
        return FakeSession(providers)


class Options:
    log_severity_level = 0


def session_on(fake: FakeOrt, device: str, verbose: bool = False) -> tuple[Any, str | None]:
    return open_session(MODEL, Options(), device, verbose, ort=fake)


# -------------------------------------------------------------------------------------- sessions


def test_named_cuda_that_falls_back_quietly_is_refused_with_the_missing_library(capfd) -> None:
    with pytest.raises(DeviceUnavailable, match=r"^--device cuda cannot run here \(CUDA: libcuda\.so\.1 "
                                                r"\(the NVIDIA driver\) is missing\)$"):
        session_on(FakeOrt({CUDA: "log"}), "cuda")
    assert capfd.readouterr() == ("", "")  # ONNX Runtime's log stays hidden


def test_named_cuda_without_a_device_says_so(capfd) -> None:
    with pytest.raises(DeviceUnavailable, match="no usable CUDA device"):
        session_on(FakeOrt({CUDA: NO_DEVICE}), "cuda")
    assert capfd.readouterr() == ("", "")


def test_auto_falls_back_to_the_cpu_with_every_reason_in_one_note(capfd) -> None:
    fake = FakeOrt({TENSORRT: TENSORRT_ERROR, CUDA: "log"})
    session, note = session_on(fake, "auto")
    assert session.get_providers() == [CPU_PROVIDER]
    assert note == ("running on the CPU (Tensorrt: libnvinfer.so.10 is missing; "
                    "CUDA: libcuda.so.1 (the NVIDIA driver) is missing)")
    assert capfd.readouterr() == ("", "")
    assert fake.preloads == 2  # CUDA and cuDNN from pip loaded before each CUDA-based attempt


def test_auto_takes_a_working_accelerator_without_a_note() -> None:
    session, note = session_on(FakeOrt({TENSORRT: TENSORRT_ERROR, CUDA: "ok"}), "auto")
    assert session.get_providers() == [CUDA, CPU_PROVIDER] and note is None


def test_cpu_only_runtime_has_nothing_to_say() -> None:
    session, note = session_on(FakeOrt({}), "auto")
    assert session.get_providers() == [CPU_PROVIDER] and note is None


def test_verbose_shows_onnx_runtimes_log(capfd) -> None:
    fake = FakeOrt({CUDA: "log"})
    with pytest.raises(DeviceUnavailable):
        session_on(fake, "cuda", verbose=True)
    assert "Failed to create CUDAExecutionProvider" in capfd.readouterr().err
    assert fake.severity == 2


def test_a_model_the_cpu_cannot_load_is_not_blamed_on_the_device() -> None:
    fake = FakeOrt({CUDA: "log", CPU_PROVIDER: ValueError("INVALID_PROTOBUF : Load model failed")})
    with pytest.raises(ValueError, match="INVALID_PROTOBUF") as raised:
        session_on(fake, "cuda")
    assert not isinstance(raised.value, DeviceError)


def test_device_the_runtime_does_not_offer_names_the_gpu_install() -> None:
    with pytest.raises(DeviceError, match=r"uninstall -y onnxruntime && .*'onnxruntime-gpu\[cuda,cudnn\]"):
        session_on(FakeOrt({}), "cuda")


def test_failure_reason_without_a_known_pattern_is_the_error_text() -> None:
    assert failure_reason("", RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : out of memory")) == "out of memory"
    assert "--verbose" in failure_reason("")


# ------------------------------------------------------------------------------------------ CLI


@pytest.fixture
def cuda_that_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real CPU runtime, dressed as onnxruntime-gpu on a machine without a GPU driver."""
    real = onnxruntime.InferenceSession

    def session(path: str, sess_options: Any = None, providers: list[str] | None = None, **kwargs: Any) -> Any:
        if providers and providers[0] == CUDA:
            os.write(2, CUDA_LOG.encode())
        return real(path, sess_options=sess_options, providers=[CPU_PROVIDER])

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CUDA, CPU_PROVIDER])
    monkeypatch.setattr(onnxruntime, "InferenceSession", session)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (160, 120))
    for value in range(10):
        writer.write(np.full((120, 160, 3), 20 * value, np.uint8))
    writer.release()
    return path


def test_cli_named_cuda_that_cannot_run_is_one_line_and_exit_2(cuda_that_cannot_run, clip: Path,
                                                               tmp_path: Path, capfd) -> None:
    run = run_cli(clip, "-o", tmp_path / "out", "--device", "cuda")
    assert run.code == 2
    assert run.stderr.strip() == ("error: --device cuda cannot run here "
                                  "(CUDA: libcuda.so.1 (the NVIDIA driver) is missing)")
    assert not (tmp_path / "out").exists()
    assert "onnxruntime" not in capfd.readouterr().err


def test_cli_auto_runs_on_the_cpu_and_says_why_in_one_line(cuda_that_cannot_run, clip: Path,
                                                           tmp_path: Path, capfd) -> None:
    run = run_cli(clip, "-o", tmp_path / "out", "--no-video", "--no-report")
    assert run.code == 0
    assert run.line("warning:") == ("warning: --device auto: running on the CPU "
                                    "(CUDA: libcuda.so.1 (the NVIDIA driver) is missing)")
    assert "CPUExecutionProvider" in run.line("detector ")
    assert "onnxruntime" not in capfd.readouterr().err


def test_cli_verbose_shows_onnx_runtimes_log(cuda_that_cannot_run, clip: Path, tmp_path: Path, capfd) -> None:
    assert run_cli(clip, "-o", tmp_path / "out", "--device", "cuda", "--verbose").code == 2
    assert "Failed to create CUDAExecutionProvider" in capfd.readouterr().err
