"""Web-console accounts and used action links: create, find, update (role, password hash,
lockout counters, disable) and the one-time record of each signed link that acted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..models import User
from .db import iso, parse_iso, to_model


def _user(row: dict[str, Any]) -> User:
    user = to_model(User, row)
    user.locked_until = parse_iso(row.get("locked_until"))
    return user


class UsersMixin:
    db: Any
    lock: Any
    tx: Callable[[], Any]
    log_event: Callable[..., None]

    def add_user(self, name: str, role: str, password_hash: str, *, now: datetime) -> bool:
        """A new account; False when the name is taken."""
        with self.tx():
            if self.db.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
                return False
            self.db["users"].insert({"name": name, "role": role,
                                     "password_hash": password_hash, "created_at": iso(now),
                                     "updated_at": iso(now)})
        return True

    def get_user(self, name: str) -> User | None:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM users WHERE name = ?", [name]))
        return _user(rows[0]) if rows else None

    def list_users(self) -> list[User]:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM users ORDER BY name"))
        return [_user(r) for r in rows]

    def update_user(self, name: str, *, now: datetime, **fields: Any) -> None:
        """Set columns of one account (times given as datetimes); ``session_epoch_bump``
        adds one to the session epoch, so cookies issued before are refused."""
        bump = fields.pop("session_epoch_bump", False)
        values = {k: iso(v) if isinstance(v, datetime) else v for k, v in fields.items()}
        values["updated_at"] = iso(now)
        sets = ", ".join(f"{k} = ?" for k in values)
        if bump:
            sets += ", session_epoch = session_epoch + 1"
        with self.tx():
            self.db.execute(f"UPDATE users SET {sets} WHERE name = ?", [*values.values(), name])

    def use_link(self, nonce: str, incident_id: int, recipient: str, *,
                 now: datetime) -> bool:
        """Record that a signed link acted; False when it had acted before."""
        with self.tx():
            if self.db.execute("SELECT 1 FROM used_links WHERE nonce = ?",
                               [nonce]).fetchone():
                return False
            self.db["used_links"].insert({"nonce": nonce, "incident_id": incident_id,
                                          "recipient": recipient, "used_at": iso(now)})
        return True

    def link_used(self, nonce: str) -> datetime | None:
        with self.lock:
            row = self.db.execute("SELECT used_at FROM used_links WHERE nonce = ?",
                                  [nonce]).fetchone()
        return datetime.fromisoformat(row[0]) if row else None
