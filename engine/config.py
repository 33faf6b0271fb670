"""Settings, from the environment (``ZHITONGCHE_*``) with embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# threads per gunicorn worker of `zhitongche run` and of the bench's server: writers waiting for
# SQLite's write lock each hold one, so with too few the readers queue behind them (issue 18);
# at most the connection pool's 15, so that a thread never waits for a connection
SERVER_THREADS = 12
DEFAULT_DATABASE_URL = "sqlite:///" + str(ROOT / "var" / "zhitongche.db")  # the demo database of `./dev run`


def _env(name: str, default: str) -> str:
    return os.environ.get(f"ZHITONGCHE_{name}", default)


@dataclass
class Settings:
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", DEFAULT_DATABASE_URL))
    port: int = field(default_factory=lambda: int(_env("PORT", "5000")))
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1"))
    processes_dir: Path = field(default_factory=lambda: Path(_env("PROCESSES_DIR", str(ROOT / "processes"))))
    forms_dir: Path = field(default_factory=lambda: Path(_env("FORMS_DIR", str(ROOT / "forms"))))
    calendar_file: Path = field(
        default_factory=lambda: Path(_env("CALENDAR_FILE", str(ROOT / "processes" / "calendar.json")))
    )
    upload_dir: Path = field(default_factory=lambda: Path(_env("UPLOAD_DIR", str(ROOT / "var" / "uploads"))))
    secret_key: str = field(default_factory=lambda: _env("SECRET_KEY", ""))
    script_time_limit: float = field(default_factory=lambda: float(_env("SCRIPT_TIME_LIMIT", "2")))
    worker_poll_seconds: float = field(default_factory=lambda: float(_env("WORKER_POLL_SECONDS", "2")))
    session_idle_minutes: float = field(default_factory=lambda: float(_env("SESSION_IDLE_MINUTES", "30")))
    session_max_hours: float = field(default_factory=lambda: float(_env("SESSION_MAX_HOURS", "8")))
    trusted_proxies: int = field(default_factory=lambda: int(_env("TRUSTED_PROXIES", "0")))
    # writing requests of one web process running at once (webapp/admission.py); "" = 2 on
    # PostgreSQL, no limit on SQLite (whose writers already wait for its one write lock, asleep)
    concurrent_writes: str = field(default_factory=lambda: _env("CONCURRENT_WRITES", ""))
