"""The README's Ray recipe as written (a head from ``ray start --head``, then ``--ray-address auto`` and
``ray://``: the same tracks as ``--engine local``), and an unreachable cluster failing in one line
within a bounded time. The head is stopped by its own process group, never by ``ray stop`` (which
stops every Ray process on the machine).

Ray 2.60 turns token authentication on for a head that finds a token (``~/.ray/auth_token``, which
any local ``ray.init()``, e.g. ``--engine ray`` without an address, creates), but never for a Ray
Client connecting to an explicit address: with the modes disagreeing, ``ray://`` times out. The head
and every run here therefore get one explicit mode and token (``RAY_AUTH_MODE=token``,
``RAY_AUTH_TOKEN``), whatever the home folder holds.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import cv2
import pytest
from cli_helpers import run_cli

from apps.ray_engine import (
    CLIENT_CONNECT_TRIES,
    CONNECT_TIMEOUT,
    RayUnavailable,
    check_reachable,
    client_auth_hint,
    cluster_endpoint,
    connect,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "media" / "demo.mp4"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(("address", "endpoint"), [
    (None, None), ("auto", None), ("ray://head:10002", ("head", 10002)), ("ray://head", ("head", 10001)),
    ("10.0.0.1:6379", ("10.0.0.1", 6379)), ("ray://[::1]:5", ("::1", 5)),
])
def test_cluster_endpoint(address: str | None, endpoint: tuple[str, int] | None) -> None:
    assert cluster_endpoint(address) == endpoint


def test_a_failed_ray_client_connection_names_token_authentication(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    assert "RAY_AUTH_MODE=token" in client_auth_hint("ray://10.0.0.5:10001")
    assert client_auth_hint("auto") == client_auth_hint(None) == ""  # not a Ray Client connection
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    assert client_auth_hint("ray://10.0.0.5:10001") == ""  # already sending a token


class FlakyRay:
    """A stand-in for the ``ray`` module whose ``init`` fails as Ray's client server sometimes does."""

    def __init__(self, failures: int, message: str = "Starting Ray client server failed. See the logs.") -> None:
        self.failures, self.message, self.calls = failures, message, 0

    def init(self, **options: object) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionAbortedError(f"Initialization failure from server: {self.message}")


def test_a_ray_client_server_that_failed_to_start_is_tried_again() -> None:
    flaky = FlakyRay(failures=CLIENT_CONNECT_TRIES - 1)
    connect(flaky, "ray://10.0.0.5:10001")
    assert flaky.calls == CLIENT_CONNECT_TRIES
    broken = FlakyRay(failures=CLIENT_CONNECT_TRIES)
    with pytest.raises(RayUnavailable, match="Starting Ray client server failed"):
        connect(broken, "ray://10.0.0.5:10001")
    assert broken.calls == CLIENT_CONNECT_TRIES


ZOMBIE_SERVER = """Traceback (most recent call last):
  File "ray/util/client/server/proxier.py", line 765, in Datapath
    if not self.proxy_manager.start_specific_server(
  File "ray/thirdparty_files/psutil/_pslinux.py", line 1648, in _raise_if_zombie
psutil.ZombieProcess: PID still exists but it's a zombie (pid=31936)"""


@pytest.mark.parametrize("message", [ZOMBIE_SERVER, "Proxy failed to Connect to backend! Check the logs."])
def test_other_failures_of_the_heads_client_server_start_are_tried_again(message: str) -> None:
    flaky = FlakyRay(failures=CLIENT_CONNECT_TRIES - 1, message=message)
    connect(flaky, "ray://10.0.0.5:10001")
    assert flaky.calls == CLIENT_CONNECT_TRIES


def test_other_connection_errors_and_local_starts_are_not_retried() -> None:
    refused = FlakyRay(failures=1, message="authentication failed")
    with pytest.raises(RayUnavailable, match="authentication failed"):
        connect(refused, "ray://10.0.0.5:10001")
    local = FlakyRay(failures=1)
    with pytest.raises(RayUnavailable, match="a local Ray instance"):
        connect(local, None)
    assert refused.calls == local.calls == 1


def test_an_address_without_a_port_is_refused() -> None:
    with pytest.raises(RayUnavailable, match="give ray://HOST:PORT"):
        cluster_endpoint("head")


def test_an_address_that_does_not_answer_fails_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def silent(endpoint: tuple[str, int], timeout: float) -> socket.socket:
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", silent)
    with pytest.raises(RayUnavailable, match=r"at ray://head:10001: no answer within 5 s"):
        check_reachable("ray://head:10001")


def test_cli_with_an_unreachable_cluster_fails_in_one_line_within_the_timeout(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    started = time.monotonic()
    run = run_cli(DEMO, "-o", tmp_path / "out", "--engine", "ray", "--ray-address", f"ray://127.0.0.1:{free_port()}")
    assert time.monotonic() - started < CONNECT_TIMEOUT + 30  # the detector loads first
    assert run.code == 1
    assert run.line("cannot reach the Ray cluster at ray://127.0.0.1:").startswith("error: ")


# ------------------------------------------------------------------------------ the README recipe


def cut(target: Path, start: int, count: int) -> Path:
    """Frames ``start`` .. ``start + count - 1`` of the demo clip as a new mp4."""
    capture = cv2.VideoCapture(str(DEMO))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    writer = None
    for _ in range(count):
        ok, frame = capture.read()
        assert ok
        if writer is None:
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, frame.shape[1::-1])
        writer.write(frame)
    writer.release()
    capture.release()
    return target


def wait_for_port(port: int, head: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert head.poll() is None, head.stderr.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the Ray head did not open port {port} within {seconds} s")


class RayHead(NamedTuple):
    """A running head: its Ray Client port and the environment its clients need (the auth mode and token)."""

    client_port: int
    env: dict[str, str]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayHead]:
    """``ray start --head --block`` in its own process group, with token authentication and a fresh token."""
    pytest.importorskip("ray")
    pytest.importorskip("grpc", reason="Ray Client needs ray[client] (the distributed extra)")
    client_port = free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    head = subprocess.Popen(  # the `ray` command of this interpreter's Ray
        [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block", "--num-cpus", "2", "--port", str(free_port()),
         "--ray-client-server-port", str(client_port), "--include-dashboard", "false", "--disable-usage-stats"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        cwd=tmp_path_factory.mktemp("ray-head"), env=env,
    )
    try:
        wait_for_port(client_port, head, 120)
        yield RayHead(client_port, env)
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ray-clips")
    cut(folder / "a.mp4", 0, 40)
    cut(folder / "b.mp4", 100, 40)
    return folder


def tracks_of(clips: Path, output: Path, env: dict[str, str], *engine: str) -> dict[str, bytes]:
    """``start.py CLIPS -o OUTPUT ENGINE...`` in a subprocess (as a user runs it) with ``env``; each clip's tracks.txt."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "start.py"), str(clips), "-o", str(output), "--no-video", "--no-report", *engine],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=env,
    )
    assert done.returncode == 0, done.stderr
    return {name: (output / name / "tracks.txt").read_bytes() for name in ("a", "b")}


@pytest.mark.parametrize("address", ["auto", "ray://"])
def test_readme_ray_recipe_gives_the_local_tracks(ray_head: RayHead, clips: Path, tmp_path: Path, address: str) -> None:
    local = tracks_of(clips, tmp_path / "local", ray_head.env, "--engine", "local")
    if address == "ray://":
        address = f"ray://127.0.0.1:{ray_head.client_port}"
    on_ray = tracks_of(clips, tmp_path / "ray", ray_head.env, "--engine", "ray", "--ray-address", address)
    assert on_ray == local and all(local.values())
