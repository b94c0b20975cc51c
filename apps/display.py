"""Whether a window can be opened: OpenCV's GUI (Qt) aborts the whole process from native code when
there is no screen, so this is checked before the first ``cv2.imshow``."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

#: Seconds to wait for an X server or Wayland compositor to accept a connection.
CONNECT_SECONDS = 1.0
X11_SOCKETS = Path("/tmp/.X11-unix")
X11_TCP_PORT = 6000


def _accepts(family: int, address: str | tuple[str, int]) -> bool:
    """True when something listens at ``address``."""
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(CONNECT_SECONDS)
            probe.connect(address)
        return True
    except OSError:
        return False


def _x11_reachable(display: str) -> bool:
    """True when the X server of ``display`` (``:0``, ``unix:1.0``, ``host:10.0``) accepts connections."""
    host, _, screen = display.rpartition(":")
    number = screen.split(".")[0]
    if not number.isdigit():
        return False
    if host in ("", "unix"):
        return _accepts(socket.AF_UNIX, str(X11_SOCKETS / f"X{number}"))
    return _accepts(socket.AF_INET, (host, X11_TCP_PORT + int(number)))


def _wayland_reachable(name: str) -> bool:
    """True when the Wayland compositor socket ``name`` (relative to ``XDG_RUNTIME_DIR``) accepts connections."""
    path = Path(name) if Path(name).is_absolute() else Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent")) / name
    return _accepts(socket.AF_UNIX, str(path))


def display_available() -> bool:
    """True when a window can be shown: always on Windows and macOS; elsewhere an X server (``DISPLAY``)
    or a Wayland compositor (``WAYLAND_DISPLAY``) must answer."""
    if sys.platform in ("win32", "darwin"):
        return True
    x11, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    return bool(x11 and _x11_reachable(x11)) or bool(wayland and _wayland_reachable(wayland))
