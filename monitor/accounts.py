"""Web-console accounts: passwords hashed with argon2id (argon2-cffi's defaults, rehashed
when those move on), roles, lockout after repeated failed logins, and every change written
to the audit log with who made it. The CLI (``yuqing users``) and the console both come
here; neither touches hashes or counters itself."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .errors import AccountError, LoginError
from .models import ROLES, User
from .store import Store
from .timefmt import for_people

MIN_PASSWORD = 8                      # characters
MAX_PASSWORD = 1024                   # a longer "password" is an attack on the hasher
LOCK_AFTER = 5                        # failed logins in a row lock the account...
LOCK_FOR = timedelta(minutes=15)      # ...for this long (each further failure restarts it)
NAME_MAX = 64

_hasher = PasswordHasher()
# verified against when the name is unknown, so a wrong name costs as long as a wrong
# password and the timing does not tell which names exist
_DUMMY_HASH = _hasher.hash("yuqing-monitor: no such account")


def check_role(role: str) -> str:
    code = role.strip()
    by_name = {v: k for k, v in ROLES.items()}
    code = by_name.get(code, code)
    if code not in ROLES:
        raise AccountError(f"未知的角色 {role!r}：可用 "
                           + "、".join(f"{k}（{v}）" for k, v in ROLES.items()))
    return code


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码太短：至少 {MIN_PASSWORD} 个字符")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"密码太长：最多 {MAX_PASSWORD} 个字符")
    return password


def check_name(name: str) -> str:
    n = name.strip()
    if not n or len(n) > NAME_MAX or any(c.isspace() or not c.isprintable() for c in n):
        raise AccountError(f"用户名 {name!r} 不可用：1 到 {NAME_MAX} 个字符，不含空白")
    return n


def add_user(store: Store, name: str, role: str, password: str, *, by: str,
             now: datetime) -> User:
    """A new account. Raises ``AccountError`` for a taken name, an unknown role or a
    password that is too short."""
    name, role = check_name(name), check_role(role)
    digest = _hasher.hash(check_password(password))
    with store.tx():
        if not store.add_user(name, role, digest, now=now):
            raise AccountError(f"用户 {name} 已存在（改密码用 yuqing users passwd {name}）")
        store.log_event("user.added", name, actor=by, data={"role": role}, now=now)
    user = store.get_user(name)
    assert user is not None
    return user


def authenticate(store: Store, name: str, password: str, *, now: datetime,
                 source: str | None = None) -> User:
    """The account when the password is right; else ``LoginError``. Failures are counted;
    the ``LOCK_AFTER``-th in a row locks the account for ``LOCK_FOR``, during which even
    the right password is refused. Every attempt is in the audit log."""
    user = store.get_user(name) if name and len(password) <= MAX_PASSWORD else None
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password[:MAX_PASSWORD] or "x")
        store.log_event("user.login_failed", name[:NAME_MAX] or None, actor="system",
                        data={"reason": "unknown", "from": source}, now=now)
        raise LoginError("用户名或密码不正确")
    if user.locked_until is not None and user.locked_until > now:
        store.log_event("user.login_failed", user.name, actor="system",
                        data={"reason": "locked", "from": source}, now=now)
        raise LoginError(f"登录失败次数过多，账号已锁定至 {for_people(user.locked_until)}，"
                         "请稍后再试或联系管理员", locked_until=user.locked_until)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, VerifyMismatchError, InvalidHashError):
        failed = user.failed_logins + 1
        locked = now + LOCK_FOR if failed >= LOCK_AFTER else None
        store.update_user(user.name, now=now, failed_logins=failed, locked_until=locked)
        store.log_event("user.login_failed", user.name, actor="system",
                        data={"reason": "password", "failed": failed, "from": source},
                        now=now)
        if locked is not None:
            store.log_event("user.locked", user.name, actor="system",
                            data={"until": locked.isoformat(), "failed": failed}, now=now)
            raise LoginError(f"登录失败次数过多，账号已锁定至 {for_people(locked)}，"
                             "请稍后再试或联系管理员", locked_until=locked) from None
        raise LoginError("用户名或密码不正确") from None
    if not user.active:
        store.log_event("user.login_failed", user.name, actor="system",
                        data={"reason": "disabled", "from": source}, now=now)
        raise LoginError("该账号已停用，请联系管理员")
    fields: dict[str, object] = {"failed_logins": 0, "locked_until": None,
                                 "last_login_at": now}
    if _hasher.check_needs_rehash(user.password_hash):
        fields["password_hash"] = _hasher.hash(password)
    store.update_user(user.name, now=now, **fields)
    store.log_event("user.login", user.name, actor=user.name, data={"from": source}, now=now)
    fresh = store.get_user(user.name)
    assert fresh is not None
    return fresh


def _existing(store: Store, name: str) -> User:
    user = store.get_user(name)
    if user is None:
        raise AccountError(f"没有用户 {name}（yuqing users list 列出全部）")
    return user


def set_password(store: Store, name: str, password: str, *, by: str, now: datetime) -> None:
    """A new password; sessions signed before it are refused from now on."""
    _existing(store, name)
    digest = _hasher.hash(check_password(password))
    store.update_user(name, now=now, password_hash=digest, failed_logins=0, locked_until=None,
                      session_epoch_bump=True)
    store.log_event("user.changed", name, actor=by, data={"password": "changed"}, now=now)


def set_role(store: Store, name: str, role: str, *, by: str, now: datetime) -> None:
    user = _existing(store, name)
    role = check_role(role)
    if role != user.role:
        store.update_user(name, now=now, role=role, session_epoch_bump=True)
        store.log_event("user.changed", name, actor=by,
                        data={"role": role, "was": user.role}, now=now)


def set_active(store: Store, name: str, active: bool, *, by: str, now: datetime) -> None:
    """Disable (sessions end at once) or enable an account; enabling also unlocks it."""
    user = _existing(store, name)
    if active:
        store.update_user(name, now=now, disabled_at=None, failed_logins=0, locked_until=None)
    elif user.active:
        store.update_user(name, now=now, disabled_at=now, session_epoch_bump=True)
    store.log_event("user.changed", name, actor=by,
                    data={"active": active}, now=now)
