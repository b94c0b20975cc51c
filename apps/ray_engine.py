"""The videos of a batch as tasks on a Ray cluster (``--engine ray``).

One Ray task per video. A task processes its video into a scratch folder on whichever node runs it
and returns the output files, which the driver writes into the usual layout under the output
folder, so no shared file system is needed for the outputs. The inputs must be readable at the same
path on every node (a shared mount), and FaceTrack must be installed on every node.

A video whose task fails (status ``failed``, or the worker process died) is retried once; the
result of the second attempt is the one reported.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console

from apps.batch import batch_progress, process_video, report_result
from apps.detector_spec import DetectorSpec
from apps.discovery import VideoInput
from apps.parallel import BatchJob
from apps.run_folder import RunFolder
from apps.video_job import VideoResult
from apps.writers import OutputWriteError, write_bytes_atomic, write_json_atomic

#: Attempts per video: the first run and one retry.
ATTEMPTS = 2

#: Seconds a cluster address may take to accept a TCP connection (``ray.init`` itself retries an
#: unreachable address for minutes).
CONNECT_TIMEOUT = 5.0

#: Port of the Ray Client server when a ``ray://`` address names none.
RAY_CLIENT_PORT = 10001

_detectors: dict[DetectorSpec, Any] = {}


class RayUnavailable(RuntimeError):
    """Ray could not be started or the cluster could not be reached."""


def is_client_address(address: str | None) -> bool:
    """Whether ``address`` is a Ray Client (``ray://``) address."""
    return (address or "").startswith("ray://")


def cluster_endpoint(address: str | None) -> tuple[str, int] | None:
    """Host and port that ``address`` (``ray://HOST[:PORT]`` or ``HOST:PORT``) connects to; None for
    ``auto``, ``local`` or no address, which Ray resolves on this machine."""
    if address is None or address in ("auto", "local"):
        return None
    scheme, _, rest = address.rpartition("://")
    host, colon, port = rest.partition("/")[0].rpartition(":")
    if not colon:
        host, port = port, str(RAY_CLIENT_PORT if scheme == "ray" else "")
    if not port.isdigit():
        raise RayUnavailable(f"--ray-address {address}: give ray://HOST:PORT, HOST:PORT or auto")
    return host.strip("[]"), int(port)


def client_auth_hint(address: str | None) -> str:
    """What to try when a Ray Client (``ray://``) connection failed: heads of Ray 2.60 and newer use
    token authentication when the machine starting them holds ``~/.ray/auth_token`` (any earlier
    local Ray run writes one), and a ``ray://`` client only sends a token when told to."""
    if not is_client_address(address) or os.environ.get("RAY_AUTH_MODE") == "token":
        return ""
    return ("; if the head uses token authentication (Ray starts it so where ~/.ray/auth_token exists), "
            "run with RAY_AUTH_MODE=token and RAY_AUTH_TOKEN set to the head's token")


#: Ray Client connections tried before giving up: the head's per-client server sometimes dies as it
#: starts (Ray issue 63202, a gRPC race at fork; "Starting Ray client server failed"), and a new try
#: gets a new one. Seen here once in about five connections.
CLIENT_CONNECT_TRIES = 3
#: What the head's answer holds when starting the per-client server failed there: the failure above,
#: or an exception raised while the head started it (seen here: ``psutil.ZombieProcess`` as it read
#: an exited server's command line, a traceback through ``start_specific_server``), or no channel to it.
CLIENT_SERVER_START_FAILURES = ("Starting Ray client server failed", "start_specific_server",
                                "Proxy failed to Connect to backend")


def connect(ray: Any, address: str | None) -> None:
    """``ray.init`` for ``address`` (None: a fresh local instance, never a cluster a file in /tmp/ray
    points at); a Ray Client connection whose server failed to start is tried again.

    Raises:
        RayUnavailable: If Ray cannot start or the cluster cannot be joined.
    """
    tries = CLIENT_CONNECT_TRIES if is_client_address(address) else 1
    for attempt in range(1, tries + 1):
        try:
            with _keeping_signal_handlers():
                ray.init(address=address or "local", include_dashboard=False, configure_logging=False)
            return
        except Exception as error:  # noqa: BLE001 - ConnectionError, RuntimeError, ValueError...
            if attempt < tries and any(failure in str(error) for failure in CLIENT_SERVER_START_FAILURES):
                continue
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise RayUnavailable(f"cannot start or reach {where}: {error}{client_auth_hint(address)}") from error


def check_reachable(address: str | None, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise :class:`RayUnavailable` unless ``address`` accepts a TCP connection within ``timeout`` s."""
    endpoint = cluster_endpoint(address)
    if endpoint is None:
        return
    try:
        socket.create_connection(endpoint, timeout=timeout).close()
    except OSError as error:
        reason = "no answer" if isinstance(error, TimeoutError) else (error.strerror or str(error))
        raise RayUnavailable(f"cannot reach the Ray cluster at {address}: {reason} within {timeout:g} s "
                             "(is its head running, and is the port open?)") from None


@contextmanager
def _keeping_signal_handlers() -> Iterator[None]:
    """Give SIGINT and SIGTERM back to this process's handlers after the block (``ray.init``): Ray
    installs its own, which answer SIGTERM with a native stack dump and exit code 1 instead of the
    graceful stop (:class:`apps.interrupts.StopSignals`: a summary and exit code 143)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:
                signal.signal(number, handler)


def _detector(spec: DetectorSpec) -> Any:
    """The detector of ``spec``, loaded once per Ray worker process."""
    if spec not in _detectors:
        _detectors[spec] = spec.load_for_tracking()
    return _detectors[spec]


def run_video_task(video: VideoInput, job: BatchJob) -> tuple[VideoResult, dict[str, bytes]]:
    """Process one video into a scratch folder; return its result and output files (relative path -> bytes)."""
    with tempfile.TemporaryDirectory(prefix="facetrack-") as scratch:
        result = process_video(video, Path(scratch), _detector(job.detector).detect, job.options,
                               threading.Event(), None, job.extra_summary)
        folder = Path(scratch) / video.output_name
        files = {path.relative_to(folder).as_posix(): path.read_bytes()
                 for path in sorted(folder.rglob("*")) if path.is_file()}
    return result, files


def _store(result: VideoResult, files: dict[str, bytes], folder: Path) -> VideoResult:
    """Write a task's files as the run in ``folder`` (``summary.json`` last, pointing at ``folder``;
    an earlier run there is replaced whole, or kept if this one did not reach its end: :class:`RunFolder`)."""
    result.output_dir = str(folder)
    if not files:
        return result
    try:
        run = RunFolder(folder)
        for name, data in files.items():
            if name != "summary.json":
                (run.path / name).parent.mkdir(parents=True, exist_ok=True)
                write_bytes_atomic(run.path / name, data)
        if "summary.json" in files:
            summary = {**json.loads(files["summary.json"]), "output_dir": str(folder)}
            write_json_atomic(run.path / "summary.json", summary)
        if not run.finish(result.status):
            result.message = f"{result.message}; {run.kept_note}"
    except (OutputWriteError, OSError) as error:
        result.status, result.message = "failed", f"cannot store the outputs: {error}"
    return result


def process_batch_on_ray(
    videos: list[VideoInput],
    job: BatchJob,
    stop: Any,
    console: Console,
    address: str | None = None,
) -> list[VideoResult]:
    """Process ``videos`` as Ray tasks; results come back in input order.

    Uses the Ray instance already initialised in this process, else joins ``address`` (None starts
    a local instance, shut down at the end). After ``stop`` is set, unfinished tasks are cancelled
    and their videos reported ``interrupted`` (without outputs).
    """
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        check_reachable(address)
        connect(ray, address)
    remote_task = ray.remote(num_cpus=1, max_retries=0)(run_video_task)
    job_ref = ray.put(job)
    attempts: dict[int, int] = {}
    results: dict[int, VideoResult] = {}
    pending: dict[Any, int] = {}

    def submit(position: int) -> None:
        attempts[position] = attempts.get(position, 0) + 1
        pending[remote_task.remote(videos[position], job_ref)] = position

    try:
        with batch_progress(console) as progress:
            batch_task = progress.add_task("videos (ray)", total=len(videos), rate="")
            for position in range(len(videos)):
                submit(position)
            while pending:
                if stop.is_set():
                    _cancel(ray, pending, videos, job, results)
                    break
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
                for ref in ready:
                    position = pending.pop(ref)
                    result, files = _collect(ray, ref, videos[position], job.output_root)
                    if result.status == "failed" and attempts[position] < ATTEMPTS:
                        submit(position)
                        continue
                    if attempts[position] > 1:
                        result.message = f"{result.message} (after a retry)".strip()
                    results[position] = _store(result, files, job.output_root / videos[position].output_name)
                    report_result(progress, result)
                    progress.advance(batch_task)
    finally:
        if started_here:
            ray.shutdown()
    return [results[position] for position in sorted(results)]


def _collect(ray: Any, ref: Any, video: VideoInput, output_root: Path) -> tuple[VideoResult, dict[str, bytes]]:
    """A finished task's result and files, or a failed result (no files) when the task itself failed."""
    try:
        return ray.get(ref)
    except Exception as error:  # noqa: BLE001 - RayTaskError, WorkerCrashedError, ...
        text = str(error).strip()
        reason = text.splitlines()[-1] if text else type(error).__name__
        folder = str(output_root / video.output_name)
        return VideoResult(input=str(video.path), output_dir=folder, status="failed",
                           message=f"ray task failed: {reason}"), {}


def _cancel(ray: Any, pending: dict[Any, int], videos: list[VideoInput], job: BatchJob,
            results: dict[int, VideoResult]) -> None:
    for ref, position in pending.items():
        ray.cancel(ref, force=False)
        video = videos[position]
        results[position] = VideoResult(
            input=str(video.path), output_dir=str(job.output_root / video.output_name), status="interrupted",
            message="cancelled before the Ray task finished (no outputs)",
        )
    deadline = time.monotonic() + 5.0
    while pending and time.monotonic() < deadline:  # let the cancellations reach the workers
        ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0.2)
        for ref in ready:
            pending.pop(ref, None)
