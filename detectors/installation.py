"""Which ONNX Runtime package is installed: exactly one must be.

Every ONNX Runtime package (``onnxruntime``, ``onnxruntime-gpu``, ...) installs the same
``onnxruntime`` module, so with two of them one silently overwrites the other's files (the CPU one
usually wins and CUDA disappears). The check reads the installed distributions' metadata only: it
never imports ``onnxruntime``, whose import may itself fail in a mixed install.
"""

from __future__ import annotations

import re
from importlib import metadata

#: Requirement that installs each ONNX Runtime package FaceTrack supports as an extra (pyproject's
#: ``cpu`` and ``gpu`` extras name the same requirements; a test holds them together).
SUPPORTED_RUNTIMES = {
    "onnxruntime": "onnxruntime>=1.17",
    "onnxruntime-gpu": "onnxruntime-gpu[cuda,cudnn]>=1.21",
}

#: Distributions that also install the ``onnxruntime`` module (other hardware builds).
OTHER_RUNTIMES = ("onnxruntime-directml", "onnxruntime-openvino", "onnxruntime-qnn", "onnxruntime-rocm",
                  "onnxruntime-training")


def _normalized(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_runtimes() -> list[str]:
    """Names of the installed distributions that provide the ``onnxruntime`` module, sorted."""
    known = {*SUPPORTED_RUNTIMES, *OTHER_RUNTIMES}
    names = {_normalized(dist.metadata["Name"] or "") for dist in metadata.distributions()}
    return sorted(names & known)


def _install_command(keep: str) -> str:
    """The pip command that installs ``keep`` (a runtime's distribution name)."""
    return f"python -m pip install '{SUPPORTED_RUNTIMES.get(keep, keep)}'"


def runtime_install_problem(installed: list[str] | None = None) -> str | None:
    """One line naming what is wrong with the installed ONNX Runtime packages and the command that
    fixes it, or None when exactly one is installed.

    With several, the one to keep is the hardware build (not the plain CPU ``onnxruntime``): it is
    the one the user added on purpose. Both are uninstalled first, since uninstalling either deletes
    files of the module they share.
    """
    installed = installed_runtimes() if installed is None else installed
    if len(installed) == 1:
        return None
    if not installed:
        return (f"no ONNX Runtime is installed (the detector needs one): {_install_command('onnxruntime')} "
                f"(NVIDIA GPU: {_install_command('onnxruntime-gpu')})")
    keep = next(name for name in installed if name != "onnxruntime")
    return (f"{' and '.join(installed)} are installed together, but they share one module and only one of "
            f"them can work: python -m pip uninstall -y {' '.join(installed)} && {_install_command(keep)}")
