"""Headless Chromium for the report tests: load a page, take a screenshot, collect console errors.

The browser is driven with the DevTools protocol over ``--remote-debugging-pipe`` (JSON messages
ending in a NUL byte on file descriptors 3 and 4): no port, no websocket client, and the
console's errors come with their level, including resources that failed to load, which
``--enable-logging=stderr`` does not report.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from typing import Any, NamedTuple

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-pipe"]


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable on PATH, if any."""
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    return next((path for path in map(shutil.which, names) if path), None)


class PageRender(NamedTuple):
    """What the browser showed: a PNG screenshot and the console's errors (one line each)."""

    png: bytes
    errors: list[str]


class DevTools:
    """A DevTools-protocol connection to a browser started with ``--remote-debugging-pipe``."""

    def __init__(self, executable: str, width: int, height: int) -> None:
        to_browser, self._to_browser = os.pipe()
        self._from_browser, from_browser = os.pipe()

        def pipes_on_3_and_4() -> None:  # in the child, before exec
            read, write = os.dup(to_browser), os.dup(from_browser)  # out of the way of 3 and 4 first
            os.dup2(read, 3)
            os.dup2(write, 4)

        self.process = subprocess.Popen([executable, *FLAGS, f"--window-size={width},{height}", "about:blank"],
                                        preexec_fn=pipes_on_3_and_4, close_fds=False,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._last_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events received meanwhile are kept)."""
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._last_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, event: str, timeout: float = 30.0) -> None:
        """Wait until the browser has sent ``event`` (perhaps already, during a call)."""
        deadline = time.monotonic() + timeout
        while not any(received.get("method") == event for received in self.events):
            self.events.append(self._receive(deadline))

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("no answer from the browser")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise EOFError("the browser closed the connection")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def close(self) -> None:
        """Stop the browser and close the pipes."""
        self.process.kill()
        self.process.wait(10)
        os.close(self._to_browser)
        os.close(self._from_browser)


def console_errors(events: list[dict[str, Any]]) -> list[str]:
    """Errors and warnings of the console: log entries (failed loads, invalid SVG...), console calls, exceptions."""
    errors = []
    for event in events:
        params = event.get("params", {})
        if event.get("method") == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            errors.append(f"{params['entry']['text']} {params['entry'].get('url', '')}".strip())
        elif event.get("method") == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
            errors.append(" ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"]))
        elif event.get("method") == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"]["text"])
    return errors


def render(executable: str, url: str, width: int = 1280, height: int = 900) -> PageRender:
    """Load ``url`` in a fresh headless browser; return its screenshot and console errors."""
    browser = DevTools(executable, width, height)
    try:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.call(f"{domain}.enable", session)
        browser.call("Emulation.setDeviceMetricsOverride", session, width=width, height=height, deviceScaleFactor=1,
                     mobile=False)
        browser.call("Page.navigate", session, url=url)
        browser.wait_for("Page.loadEventFired")
        png = base64.b64decode(browser.call("Page.captureScreenshot", session, format="png")["data"])
    finally:
        browser.close()
    return PageRender(png, console_errors(browser.events))
