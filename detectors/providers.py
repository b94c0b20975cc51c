"""Choice of onnxruntime execution providers (GPU when available, CPU otherwise)."""

from __future__ import annotations

from detectors.installation import SUPPORTED_RUNTIMES

CPU_PROVIDER = "CPUExecutionProvider"

#: Providers of ``onnxruntime-gpu``: they need the CUDA (and cuDNN) libraries.
CUDA_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")

class DeviceError(ValueError):
    """The device asked for is unknown, not offered by the installed ONNX Runtime, or cannot run here."""


#: Preference order when the device is "auto".
PREFERRED_PROVIDERS = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CoreMLExecutionProvider",
    "DmlExecutionProvider",
    CPU_PROVIDER,
)

#: User-facing device names.
DEVICE_PROVIDERS = {
    "cpu": CPU_PROVIDER,
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "directml": "DmlExecutionProvider",
}


def choose_providers(available: list[str], device: str = "auto") -> list[str]:
    """Providers to pass to ``onnxruntime.InferenceSession``, best first, always ending with CPU.

    Args:
        available: ``onnxruntime.get_available_providers()``.
        device: ``auto`` or one of :data:`DEVICE_PROVIDERS`.

    Raises:
        DeviceError: If ``device`` is unknown or its provider is not installed.
    """
    if device == "auto":
        chosen = [name for name in PREFERRED_PROVIDERS if name in available]
    else:
        if device not in DEVICE_PROVIDERS:
            raise DeviceError(f"unknown device {device!r}; choose auto or one of {', '.join(DEVICE_PROVIDERS)}")
        provider = DEVICE_PROVIDERS[device]
        if provider not in available:
            raise DeviceError(
                f"device {device!r} needs {provider}, which this onnxruntime does not offer "
                f"(available: {', '.join(available)}){_how_to_get(provider)}"
            )
        chosen = [provider]
    if CPU_PROVIDER not in chosen:
        chosen.append(CPU_PROVIDER)
    return chosen


def _how_to_get(provider: str) -> str:
    """How to install the ONNX Runtime that offers ``provider``, for the providers of ``onnxruntime-gpu``."""
    if provider not in CUDA_PROVIDERS:
        return ""
    return (f"; for CUDA replace the CPU runtime: python -m pip uninstall -y onnxruntime && "
            f"python -m pip install '{SUPPORTED_RUNTIMES['onnxruntime-gpu']}'")
