"""What the README's install section promises: each runtime install leaves exactly one ONNX Runtime
package, a mixed or missing one is one clear line at start-up, the ``distributed`` extra carries Ray
Client, the installed ``facetrack`` command works like ``python start.py``, and CI installs the way
the README says."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from cli_helpers import run_cli

from apps.cli import facetrack
from detectors.installation import OTHER_RUNTIMES, SUPPORTED_RUNTIMES, installed_runtimes, runtime_install_problem

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
README = (ROOT / "README.md").read_text()
CI_SCRIPT = (ROOT / ".ci" / "run").read_text()
RUNTIME_NAMES = {*SUPPORTED_RUNTIMES, *OTHER_RUNTIMES}


def requirement_name(requirement: str) -> str:
    """``onnxruntime-gpu[cuda]>=1.2; extra == 'x'`` -> ``onnxruntime-gpu``."""
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def extras_installed_by(command: str) -> list[set[str]]:
    """The extras of every ``pip install -e '.[a,b]'`` (or ``pip install .``) in ``command``."""
    found = re.findall(r"pip install (?:-[-\w]+ )*'?\.(?:\[([\w,]+)\])?'?(?:\s|$)", command)
    return [set(filter(None, extras.split(","))) for extras in found]


def readme_code_lines() -> list[str]:
    """Every line of the README's fenced code blocks."""
    return [line for block in re.findall(r"```bash\n(.*?)```", README, re.S) for line in block.splitlines()]


def fake_distributions(monkeypatch: pytest.MonkeyPatch, names: list[str]) -> None:
    """Make ``importlib.metadata`` report these distributions (plus unrelated ones) as installed."""
    dists = [SimpleNamespace(metadata={"Name": name}) for name in [*names, "numpy", "Onnx", None]]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: iter(dists))


# ------------------------------------------------------------------------------------ pyproject


def test_no_onnx_runtime_in_the_base_dependencies() -> None:
    assert not {requirement_name(r) for r in PROJECT["dependencies"]} & RUNTIME_NAMES


def test_cpu_and_gpu_extras_each_install_one_runtime_and_no_other_extra_does() -> None:
    extras = PROJECT["optional-dependencies"]
    assert extras["cpu"] == [SUPPORTED_RUNTIMES["onnxruntime"]]
    assert extras["gpu"] == [SUPPORTED_RUNTIMES["onnxruntime-gpu"]]
    assert "[cuda,cudnn]" in extras["gpu"][0]  # CUDA and cuDNN from pip, loaded by onnxruntime.preload_dlls
    for name, requirements in extras.items():
        if name not in ("cpu", "gpu"):
            assert not {requirement_name(r) for r in requirements} & RUNTIME_NAMES, name


def test_distributed_extra_carries_ray_client() -> None:
    ray = [r for r in PROJECT["optional-dependencies"]["distributed"] if requirement_name(r) == "ray"]
    assert len(ray) == 1 and re.search(r"\[[\w,]*\bclient\b", ray[0]), ray


def test_installed_command_is_the_facetrack_entry_point() -> None:
    assert PROJECT["scripts"] == {"facetrack": "apps.cli:facetrack"}


# --------------------------------------------------------------------------------- README and CI


def test_readme_quick_start_installs_the_cpu_runtime_and_runs_the_demo_in_one_command() -> None:
    first = readme_code_lines()[0]
    assert extras_installed_by(first) == [{"cpu"}]
    assert "&& python start.py ./media" in first


def test_every_readme_install_names_exactly_one_runtime() -> None:
    installs = [extras for line in readme_code_lines() for extras in extras_installed_by(line)]
    assert len(installs) >= 3  # demo, tests, GPU
    for extras in installs:
        assert len(extras & {"cpu", "gpu"}) == 1, extras
    assert {"gpu"} in installs


def test_ci_installs_what_the_readme_test_command_installs() -> None:
    test_line = next(line for line in readme_code_lines() if "pytest" in line)
    ci_lines = [line for line in CI_SCRIPT.splitlines() if not line.lstrip().startswith("#")]
    assert extras_installed_by(test_line) == [extras for line in ci_lines for extras in extras_installed_by(line)]
    assert "torch==2.13.0" in test_line
    torch_step = next(n for n, line in enumerate(ci_lines) if "pip install" in line and "torch==2.13.0" in line)
    project_step = next(n for n, line in enumerate(ci_lines) if extras_installed_by(line))
    assert torch_step < project_step  # the local CPU build first, so no CUDA torch is pulled
    assert "python -m pytest -q" in CI_SCRIPT


# ----------------------------------------------------------------------- runtime check at start-up


def test_this_environment_has_exactly_one_runtime() -> None:
    assert len(installed_runtimes()) == 1, installed_runtimes()


@pytest.mark.parametrize("names", [["onnxruntime"], ["onnxruntime-gpu"], ["onnxruntime_openvino"]])
def test_one_runtime_is_fine(monkeypatch: pytest.MonkeyPatch, names: list[str]) -> None:
    fake_distributions(monkeypatch, names)
    assert runtime_install_problem() is None


def test_cpu_and_gpu_together_name_the_fix_that_keeps_the_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_distributions(monkeypatch, ["onnxruntime-gpu", "onnxruntime"])
    problem = runtime_install_problem()
    assert problem.endswith("python -m pip uninstall -y onnxruntime onnxruntime-gpu && "
                            f"python -m pip install '{SUPPORTED_RUNTIMES['onnxruntime-gpu']}'")


def test_no_runtime_names_the_cpu_install(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_distributions(monkeypatch, [])
    assert f"python -m pip install '{SUPPORTED_RUNTIMES['onnxruntime']}'" in runtime_install_problem()


@pytest.mark.parametrize(("names", "fragment"), [
    (["onnxruntime", "onnxruntime-gpu"], "are installed together"),
    ([], "no ONNX Runtime is installed"),
])
@pytest.mark.parametrize("command", [[], ["detect"]])
def test_cli_refuses_a_mixed_or_missing_runtime_in_one_line_before_touching_input(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, names: list[str], fragment: str, command: list[str]
) -> None:
    fake_distributions(monkeypatch, names)
    run = run_cli(*command, tmp_path, "-o", tmp_path / "out")
    assert run.code == 2
    assert run.line(fragment).startswith("error: ") and "python -m pip install" in run.line(fragment)
    assert len(run.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_help_works_without_a_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_distributions(monkeypatch, [])
    assert run_cli("--help").code == 0 and run_cli("track", "--help").code == 0


# ------------------------------------------------------------------------------ installed command


def test_facetrack_entry_point_shows_its_own_name(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["facetrack", "--help"])
    assert facetrack() == 0
    assert "Usage: facetrack" in capsys.readouterr().out


def test_facetrack_entry_point_runs_track_as_the_default_command(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["facetrack", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "out")])
    assert facetrack() == 1  # the same as start.py: one skipped input, exit 1
    assert "missing.mp4" in capsys.readouterr().err


def test_installed_facetrack_script_in_a_subprocess() -> None:
    """Where this environment has the console script (any ``pip install``, as in CI)."""
    script = Path(sys.executable).with_name("facetrack")
    if not script.is_file():
        pytest.skip(f"no installed facetrack script next to {sys.executable}")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Usage: facetrack" in done.stdout and "Traceback" not in done.stderr
