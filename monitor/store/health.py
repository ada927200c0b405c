"""What ``/healthz`` reports, in three cheap queries: fetching (feeds failing or overdue,
the newest success), delivery (messages due and not sent, messages that failed for good)
and the database itself (it answers and can take a write lock)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .db import iso

OVERDUE = timedelta(minutes=15)      # a check or a delivery this late is a problem


class HealthMixin:
    db: Any
    lock: Any

    def health(self, now: datetime) -> dict[str, Any]:
        late = iso(now - OVERDUE)
        with self.lock:
            f = self.db.execute(
                "SELECT count(*), coalesce(sum(ok = 0), 0), "
                "coalesce(sum(next_check_at IS NOT NULL AND next_check_at < ?), 0), "
                "max(last_success_at) FROM feeds", [late]).fetchone()
            d = self.db.execute(
                "SELECT coalesce(sum(status = 'pending' AND due_at < ?), 0), "
                "coalesce(sum(status = 'failed'), 0), "
                "min(CASE WHEN status = 'pending' THEN due_at END) FROM deliveries",
                [late]).fetchone()
            self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return {
            "fetching": {"ok": f[1] == 0 and f[2] == 0, "feeds": f[0], "failing": f[1],
                         "overdue": f[2], "last_success_at": f[3]},
            "delivery": {"ok": d[0] == 0, "overdue": d[0], "failed": d[1],
                         "oldest_pending_due_at": d[2]},
        }
