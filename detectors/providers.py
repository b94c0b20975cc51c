"""Choice of onnxruntime execution providers (GPU when available, CPU otherwise)."""

from __future__ import annotations

#: Preference order when the device is "auto".
PREFERRED_PROVIDERS = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CoreMLExecutionProvider",
    "DmlExecutionProvider",
    "CPUExecutionProvider",
)

#: User-facing device names.
DEVICE_PROVIDERS = {
    "cpu": "CPUExecutionProvider",
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
        ValueError: If ``device`` is unknown or its provider is not installed.
    """
    if device == "auto":
        chosen = [name for name in PREFERRED_PROVIDERS if name in available]
    else:
        if device not in DEVICE_PROVIDERS:
            raise ValueError(f"unknown device {device!r}; choose auto or one of {', '.join(DEVICE_PROVIDERS)}")
        provider = DEVICE_PROVIDERS[device]
        if provider not in available:
            raise ValueError(
                f"device {device!r} needs {provider}, which this onnxruntime does not offer "
                f"(available: {', '.join(available)}); for CUDA install the 'gpu' extra"
            )
        chosen = [provider]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen
