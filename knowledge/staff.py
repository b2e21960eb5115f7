"""Staff accounts: password hashes (argon2) and strength (zxcvbn), roles, sessions kept on the
server (so logging out, a password change or a locked account ends them), and the login
throttle: a per-account delay that doubles with each failure, plus a per-address limit."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from zxcvbn import zxcvbn

from knowledge.db import Database
from knowledge.errors import UsageError
from knowledge.models import LoginAttempt, StaffSession, StaffUser

ROLES = ("editor", "admin")
ROLE_LABELS = {"editor": "Biên tập viên", "admin": "Quản trị viên"}
"""What staff read for a role: editors change the knowledge, administrators also the accounts."""

PASSWORD_MIN = 10
PASSWORD_MAX = 200
PASSWORD_SCORE = 3
"""zxcvbn's 0–4 scale: 3 is "safely unguessable" (about 10^8 guesses), well past what a
throttled login allows in years."""
SITE_WORDS = ("motcua", "mot cua", "một cửa", "tro ly", "trợ lý", "phuong", "phường", "admin", "quantri", "canbo")
"""Words anyone would try first against this site's accounts."""

SESSION_IDLE = timedelta(hours=2)
"""A session nobody used for this long has ended."""
SESSION_LIFETIME = timedelta(hours=12)
"""A session ends this long after the login, however active: one working day."""
_SEEN_EVERY = timedelta(minutes=1)
"""A session's last-seen time is written at most this often (a write per page is wasted)."""

FREE_FAILURES = 3
"""Failed logins for one account before any delay: everyone mistypes now and then."""
FIRST_DELAY = 2.0
MAX_DELAY = 300.0
"""The delay doubles with each failure, up to 5 minutes: a guesser gets a few hundred tries
a day, a colleague whose account is being guessed waits at most that long (never locked)."""
FAILURE_MEMORY = timedelta(hours=24)
ADDRESS_WINDOW = timedelta(minutes=15)
ADDRESS_LIMIT = 100
"""Failed logins from one address in ADDRESS_WINDOW: a whole office behind one address
mistypes far less; a script trying many accounts is stopped."""

_hasher = PasswordHasher()
# Checked against when the user does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True, slots=True)
class StaffInfo:
    id: int
    username: str
    role: str
    active: bool

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A signed-in session: who, and the token every form of theirs must carry."""

    user: StaffInfo
    csrf: str


def _info(u: StaffUser) -> StaffInfo:
    return StaffInfo(u.id, u.username, u.role, u.active)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def normalize_username(name: str) -> str:
    """The one form a user name is stored, looked up and throttled in: "Lan " == "lan"."""
    return unicodedata.normalize("NFC", name or "").strip().lower()


# --- passwords ----------------------------------------------------------------------------

_WEAKNESS = {
    "repeat": "lặp lại ký tự hoặc cụm ký tự (như aaaa, abcabc)",
    "sequence": "dãy liên tiếp (như 12345, abcde)",
    "spatial": "các phím cạnh nhau trên bàn phím (như qwerty, asdf)",
    "date": "ngày tháng",
    "dictionary": "mật khẩu hoặc từ thông dụng",
    "user_inputs": "tên đăng nhập hoặc tên của trang này",
}
"""zxcvbn's pattern names -> what staff read."""


def validate_password(password: str, username: str = "") -> None:
    """Refuse short, common and user-derived passwords, saying why in Vietnamese."""
    if len(password) < PASSWORD_MIN:
        raise UsageError(f"Mật khẩu cần ít nhất {PASSWORD_MIN} ký tự.")
    if len(password) > PASSWORD_MAX:
        raise UsageError(f"Mật khẩu quá dài (tối đa {PASSWORD_MAX} ký tự).")
    name = normalize_username(username)
    if name and name in normalize_username(password):
        raise UsageError("Mật khẩu không được chứa tên đăng nhập.")
    result = zxcvbn(password, user_inputs=[w for w in (name, *SITE_WORDS) if w])
    if result["score"] >= PASSWORD_SCORE:
        return
    reasons = []
    for match in result.get("sequence", []):
        pattern = match.get("pattern", "")
        if pattern == "dictionary" and match.get("dictionary_name") == "user_inputs":
            pattern = "user_inputs"
        reason = _WEAKNESS.get(pattern)
        if reason and reason not in reasons:
            reasons.append(reason)
    why = f" (có {', '.join(reasons)})" if reasons else ""
    raise UsageError(
        f"Mật khẩu quá dễ đoán{why}. Hãy dùng một câu dài vài từ mà người khác khó đoán, "
        "ví dụ ghép 4–5 từ không liên quan với nhau."
    )


# --- accounts -----------------------------------------------------------------------------


def create_user(db: Database, username: str, password: str, role: str) -> StaffInfo:
    name = normalize_username(username)
    if not name or len(name) > 100 or any(c.isspace() or not c.isprintable() for c in name):
        raise UsageError("Tên đăng nhập không hợp lệ (1–100 ký tự, không có khoảng trắng).")
    if role not in ROLES:
        raise UsageError(f"Vai trò phải là một trong: {', '.join(ROLE_LABELS[r] for r in ROLES)}.")
    validate_password(password, name)
    with db.session() as s:
        if s.scalar(select(StaffUser.id).where(StaffUser.username == name)):
            raise UsageError(f"Tên đăng nhập “{name}” đã có.")
        user = StaffUser(username=name, password_hash=_hasher.hash(password), role=role, active=True)
        s.add(user)
        s.flush()
        return _info(user)


def set_password(db: Database, user_id: int, password: str, keep_session: str | None = None) -> None:
    """A new password; every session of the account ends (but `keep_session`, the one that
    changed it)."""
    with db.session() as s:
        user = s.get(StaffUser, user_id)
        if user is None:
            raise UsageError("Không có tài khoản này.")
        validate_password(password, user.username)
        user.password_hash = _hasher.hash(password)
        q = delete(StaffSession).where(StaffSession.user_id == user_id)
        if keep_session:
            q = q.where(StaffSession.id != _digest(keep_session))
        s.execute(q)


def change_password(db: Database, user_id: int, current: str, new: str, keep_session: str | None = None) -> None:
    """The account's own password change: the current password is asked again."""
    with db.sessions() as s:
        user = s.get(StaffUser, user_id)
        if user is None:
            raise UsageError("Không có tài khoản này.")
        stored = user.password_hash
    try:
        _hasher.verify(stored, current[:PASSWORD_MAX])
    except (VerifyMismatchError, VerificationError, InvalidHashError) as exc:
        raise UsageError("Mật khẩu hiện tại không đúng.") from exc
    if new == current:
        raise UsageError("Mật khẩu mới cần khác mật khẩu hiện tại.")
    set_password(db, user_id, new, keep_session)


def set_active(db: Database, user_id: int, active: bool) -> None:
    """Lock or unlock an account; locking ends its sessions at once."""
    with db.session() as s:
        user = s.get(StaffUser, user_id)
        if user is None:
            raise UsageError("Không có tài khoản này.")
        user.active = active
        if not active:
            s.execute(delete(StaffSession).where(StaffSession.user_id == user_id))


def users(db: Database) -> list[StaffInfo]:
    with db.sessions() as s:
        return [_info(u) for u in s.scalars(select(StaffUser).order_by(StaffUser.username))]


def user(db: Database, user_id: int) -> StaffInfo | None:
    with db.sessions() as s:
        u = s.get(StaffUser, user_id)
        return _info(u) if u else None


def authenticate(db: Database, username: str, password: str) -> StaffInfo | None:
    with db.session() as s:
        u = s.scalar(select(StaffUser).where(StaffUser.username == normalize_username(username)))
        try:
            _hasher.verify(u.password_hash if u else _DUMMY_HASH, password[:PASSWORD_MAX])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if u is None or not u.active:
            return None
        if _hasher.check_needs_rehash(u.password_hash):
            u.password_hash = _hasher.hash(password)
        return _info(u)


# --- sessions -----------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def open_session(db: Database, user_id: int, lifetime: timedelta = SESSION_LIFETIME) -> tuple[str, str]:
    """(secret for the cookie, CSRF token) of a new session; ended sessions are swept."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    now = datetime.now(UTC)
    with db.session() as s:
        s.execute(
            delete(StaffSession).where((StaffSession.expires_at < now) | (StaffSession.seen_at < now - SESSION_IDLE))
        )
        s.add(
            StaffSession(
                id=_digest(token), user_id=user_id, csrf=csrf, created_at=now, seen_at=now, expires_at=now + lifetime
            )
        )
    return token, csrf


def session_for(db: Database, token: str, idle: timedelta = SESSION_IDLE) -> SessionInfo | None:
    """The live session of a cookie's secret, or None (unknown, ended, expired, idle too
    long, or its account locked)."""
    if not token or len(token) > 200:
        return None
    now = datetime.now(UTC)
    key = _digest(token)
    with db.sessions() as s:
        row = s.execute(
            select(StaffSession, StaffUser)
            .join(StaffUser, StaffUser.id == StaffSession.user_id)
            .where(StaffSession.id == key)
        ).first()
        if row is None:
            return None
        session, account = row
        if not account.active or _aware(session.expires_at) <= now or _aware(session.seen_at) <= now - idle:
            return None
        info = SessionInfo(_info(account), session.csrf)
        stale = _aware(session.seen_at) <= now - _SEEN_EVERY
    if stale:
        with db.session() as s:
            s.execute(update(StaffSession).where(StaffSession.id == key).values(seen_at=now))
    return info


def end_session(db: Database, token: str) -> None:
    with db.session() as s:
        s.execute(delete(StaffSession).where(StaffSession.id == _digest(token)))


def session_count(db: Database, user_id: int) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count(StaffSession.id)).where(StaffSession.user_id == user_id)) or 0)


# --- login throttle -------------------------------------------------------------------------


def account_key(username: str) -> str:
    return f"user:{normalize_username(username)}"[:200]


def address_key(address: str) -> str:
    return f"ip:{address}"[:200]


def login_wait(db: Database, key: str) -> float:
    """Seconds before `key` (an account, or an account on a known device) may try again:
    0 for the first FREE_FAILURES failures, then doubling with each failure, capped."""
    now = datetime.now(UTC)
    with db.sessions() as s:
        count, last = s.execute(
            select(func.count(LoginAttempt.id), func.max(LoginAttempt.at)).where(
                LoginAttempt.key == key, LoginAttempt.at >= now - FAILURE_MEMORY
            )
        ).one()
    if not count or count < FREE_FAILURES or last is None:
        return 0.0
    delay = min(FIRST_DELAY * 2 ** (count - FREE_FAILURES), MAX_DELAY)
    return max(0.0, (_aware(last) + timedelta(seconds=delay) - now).total_seconds())


def address_blocked(db: Database, address: str) -> bool:
    """True after ADDRESS_LIMIT failed logins from one address within ADDRESS_WINDOW."""
    since = datetime.now(UTC) - ADDRESS_WINDOW
    with db.sessions() as s:
        n = s.scalar(
            select(func.count(LoginAttempt.id)).where(
                LoginAttempt.key == address_key(address), LoginAttempt.at >= since
            )
        )
    return int(n or 0) >= ADDRESS_LIMIT


def record_failed_login(db: Database, keys: list[str]) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        s.execute(delete(LoginAttempt).where(LoginAttempt.at < now - FAILURE_MEMORY))
        for key in keys:
            s.add(LoginAttempt(key=key[:200], at=now))


def clear_failed_logins(db: Database, keys: list[str]) -> None:
    with db.session() as s:
        s.execute(delete(LoginAttempt).where(LoginAttempt.key.in_(keys)))
