"""The systemd notify protocol: READY, WATCHDOG, STATUS and STOPPING datagrams."""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    """sd_notify when started by systemd (``NOTIFY_SOCKET`` set); a no-op otherwise.

    The protocol is one UTF-8 datagram per message (the ``sdnotify`` package encodes as
    Latin-1 and silently drops Chinese STATUS lines, so we speak it ourselves).
    """

    def __init__(self) -> None:
        addr = os.environ.get("NOTIFY_SOCKET") or ""
        self.address = "\0" + addr[1:] if addr.startswith("@") else addr
        self.enabled = bool(addr)

    def notify(self, message: str) -> None:
        if not self.enabled:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message.encode("utf-8"), self.address)
        except OSError as e:
            log.warning("sd_notify 失败 error=%s", e)

    @staticmethod
    def watchdog_interval() -> float | None:
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        return max(int(usec) / 1e6 / 2, 0.5)
