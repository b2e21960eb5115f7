"""Settings, read from the environment once in the entry point and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError


def _int(env: dict[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"Biến môi trường {key} phải là số nguyên (đang là {raw!r}).") from exc


@dataclass(frozen=True)
class Settings:
    """Every knob of the assistant; see the README's configuration table."""

    database_url: str = "sqlite:///var/motcua.db"
    model_path: Path = Path("var/nlu-model.pkl")
    default_unit: str | None = None
    session_ttl_minutes: int = 30
    portal_url: str = "https://dichvucong.gov.vn"
    public_url: str = "http://127.0.0.1:8000"
    cors_origins: tuple[str, ...] = ()
    secret_key: str | None = field(default=None, repr=False)
    """Signs staff sessions; when unset, a key kept in the database is shared by every worker."""
    telegram_token: str | None = field(default=None, repr=False)
    telegram_secret: str | None = field(default=None, repr=False)
    telegram_bot_name: str | None = None
    telegram_api_base: str = "https://api.telegram.org/bot"
    zalo_app_id: str | None = None
    zalo_secret_key: str | None = field(default=None, repr=False)
    zalo_access_token: str | None = field(default=None, repr=False)
    zalo_api_base: str = "https://openapi.zalo.me"
    zalo_max_age_seconds: int = 300
    secure_cookies: bool = False
    answer_threads: int = 0
    """Threads per web worker that answer messages; 0 answers on the worker's event loop."""
    timezone: str = "Asia/Ho_Chi_Minh"
    """The unit's time zone: times and days on the staff pages are counted in it."""
    retry_queue_limit: int = 1000
    """Messages a worker keeps in memory while the database cannot be written."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        db_path = env.get("MOTCUA_DB_PATH", "var/motcua.db")
        origins = tuple(o.strip() for o in env.get("MOTCUA_CORS_ORIGINS", "").split(",") if o.strip())
        public_url = env.get("MOTCUA_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
        return cls(
            database_url=env.get("MOTCUA_DATABASE_URL") or f"sqlite:///{db_path}",
            model_path=Path(env.get("MOTCUA_MODEL_PATH", "var/nlu-model.pkl")),
            default_unit=env.get("MOTCUA_UNIT") or None,
            session_ttl_minutes=_int(env, "MOTCUA_SESSION_TTL_MINUTES", 30),
            portal_url=env.get("MOTCUA_PORTAL_URL", "https://dichvucong.gov.vn").rstrip("/"),
            public_url=public_url,
            cors_origins=origins,
            secret_key=env.get("MOTCUA_SECRET_KEY") or None,
            telegram_token=env.get("MOTCUA_TELEGRAM_TOKEN") or None,
            telegram_secret=env.get("MOTCUA_TELEGRAM_SECRET") or None,
            telegram_bot_name=env.get("MOTCUA_TELEGRAM_BOT_NAME") or None,
            telegram_api_base=env.get("MOTCUA_TELEGRAM_API_BASE", "https://api.telegram.org/bot").rstrip("/"),
            zalo_app_id=env.get("MOTCUA_ZALO_APP_ID") or None,
            zalo_secret_key=env.get("MOTCUA_ZALO_SECRET_KEY") or None,
            zalo_access_token=env.get("MOTCUA_ZALO_ACCESS_TOKEN") or None,
            zalo_api_base=env.get("MOTCUA_ZALO_API_BASE", "https://openapi.zalo.me").rstrip("/"),
            zalo_max_age_seconds=_int(env, "MOTCUA_ZALO_MAX_AGE_SECONDS", 300),
            secure_cookies=public_url.startswith("https://"),
            answer_threads=max(0, _int(env, "MOTCUA_ANSWER_THREADS", 0)),
            retry_queue_limit=max(1, _int(env, "MOTCUA_RETRY_QUEUE", 1000)),
            timezone=_timezone(env.get("MOTCUA_TIMEZONE", "").strip() or "Asia/Ho_Chi_Minh"),
        )


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"Biến môi trường MOTCUA_TIMEZONE không phải múi giờ hợp lệ (đang là {name!r}; ví dụ Asia/Ho_Chi_Minh)."
        ) from exc
    return name
