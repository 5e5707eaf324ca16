"""Runtime configuration read from the environment, with safe defaults for the embedded demo.

Kept apart from ``settings.py`` so that the CLI can validate a configuration and report a
clear error before Django starts.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url

ENV_DATA_DIR = "VOICESCOUNT_DATA_DIR"
ENV_MODE = "VOICESCOUNT_MODE"
ENV_SECRET_KEY = "VOICESCOUNT_SECRET_KEY"
ENV_ALLOWED_HOSTS = "VOICESCOUNT_ALLOWED_HOSTS"
ENV_LANGUAGE = "VOICESCOUNT_LANGUAGE"
ENV_DATABASE_URL = "DATABASE_URL"
ENV_ENCRYPTION_KEYS = "VOICESCOUNT_ENCRYPTION_KEYS"
ENV_IMPORT_WORKERS = "VOICESCOUNT_IMPORT_WORKERS"
ENV_CACHE_URL = "VOICESCOUNT_CACHE_URL"
ENV_EMAIL_URL = "VOICESCOUNT_EMAIL_URL"
ENV_EMAIL_FROM = "VOICESCOUNT_EMAIL_FROM"
ENV_SNAPSHOT_DIR = "VOICESCOUNT_SNAPSHOT_DIR"

MODES = ("development", "production")
SUPPORTED_DB_SCHEMES = ("sqlite", "postgres", "postgresql", "pgsql")


class ConfigurationError(Exception):
    """A setting from the environment is missing or wrong; the message says which and how to fix it."""


def default_data_dir() -> Path:
    """Where the embedded database and generated keys live unless the user chooses otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voicescount"


def data_dir() -> Path:
    """The data directory: ``$VOICESCOUNT_DATA_DIR`` or the per-user default."""
    raw = os.environ.get(ENV_DATA_DIR, "").strip()
    return Path(raw).expanduser().resolve() if raw else default_data_dir()


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
"""The data directory and the embedded database are the user's alone: they hold sessions, password hashes,
pseudonym keys and the encryption key."""


def make_private(path: Path, mode: int) -> None:
    """Take group and other permissions off ``path`` when this user owns it (and they are there)."""
    info = path.stat()
    if info.st_uid == os.geteuid() and info.st_mode & 0o077:
        path.chmod(mode)


def ensure_data_dir(path: Path) -> Path:
    """Create the data directory if needed (private: 0700) and check that it is writable."""
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        make_private(path, PRIVATE_DIR_MODE)
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot create the data directory {path}: {exc.strerror or exc}. "
            f"Choose another with --data-dir or {ENV_DATA_DIR}."
        ) from exc
    if not path.is_dir():
        raise ConfigurationError(f"The data directory {path} exists but is not a directory.")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigurationError(
            f"The data directory {path} is not writable by this user. "
            f"Choose another with --data-dir or {ENV_DATA_DIR}."
        )
    return path


def snapshot_dir(directory: Path) -> Path:
    """Where the analysis snapshots (Parquet files of the answers in analysis) are kept:
    ``$VOICESCOUNT_SNAPSHOT_DIR`` or ``<data directory>/snapshots``; created private (0700) on first use."""
    raw = os.environ.get(ENV_SNAPSHOT_DIR, "").strip()
    return Path(raw).expanduser().resolve() if raw else directory / "snapshots"


def mode() -> str:
    """``development`` (embedded default) or ``production``."""
    value = os.environ.get(ENV_MODE, "development").strip().lower() or "development"
    if value not in MODES:
        raise ConfigurationError(f"{ENV_MODE}={value!r} is not one of: {', '.join(MODES)}.")
    return value


def secret_key(production: bool, directory: Path) -> str:
    """The secret key: required from the environment in production, else generated once and kept."""
    key = os.environ.get(ENV_SECRET_KEY, "").strip()
    if key:
        if production and len(key) < 50:
            raise ConfigurationError(f"{ENV_SECRET_KEY} must be at least 50 characters in production.")
        return key
    if production:
        raise ConfigurationError(
            f"{ENV_SECRET_KEY} must be set in production mode "
            '(generate one with: python -c "import secrets; print(secrets.token_urlsafe(64))").'
        )
    path = ensure_data_dir(directory) / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(64)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    return key


@dataclass(frozen=True)
class DatabaseConfig:
    settings: dict
    description: str  # safe to print: no password


SQLITE_OPTIONS = {
    # Seconds a writer waits for another's write lock before giving up ("database is locked").
    "timeout": 20,
    # WAL: readers (public pages) read the last committed state while an import writes its batch in one
    # transaction; in the default rollback-journal mode the writer locks readers out as soon as the batch
    # no longer fits in its page cache. synchronous stays FULL: a committed batch survives a power cut.
    # The WAL file grows to the size of the largest batch; after each checkpoint it is cut back to 64 MB.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA journal_size_limit=67108864",
    # Writers take the write lock when their transaction begins, so a second writer waits (timeout)
    # instead of failing when its read turns into a write half-way.
    "transaction_mode": "IMMEDIATE",
}


def sqlite_file(path: Path) -> None:
    """Create the SQLite database file private (0600) before SQLite creates it with the umask's mode,
    or make an existing one private; its -wal and -shm files take the database file's mode."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    make_private(path, PRIVATE_FILE_MODE)


def _sqlite(path: Path) -> dict:
    if path.parent.is_dir():
        sqlite_file(path)
    # Kept between requests, as PostgreSQL's are: opening the file and running the init_command pragmas
    # took 3.4 ms, more than answering a cached page (1.1 ms).
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": dict(SQLITE_OPTIONS),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def database(directory: Path) -> DatabaseConfig:
    """Parse ``DATABASE_URL`` (default: SQLite file in the data directory) into Django settings."""
    url = os.environ.get(ENV_DATABASE_URL, "").strip()
    if not url:
        path = directory / "voicescount.sqlite3"
        return DatabaseConfig(_sqlite(path), f"SQLite at {path}")
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0].lower()
    if not scheme or "://" not in url:
        raise ConfigurationError(
            f"{ENV_DATABASE_URL} is not a URL. Expected e.g. postgres://user@host:5432/dbname or sqlite:////abs/path.db"
        )
    if scheme not in SUPPORTED_DB_SCHEMES:
        raise ConfigurationError(
            f"{ENV_DATABASE_URL} uses the scheme {scheme!r}; VoicesCount supports PostgreSQL "
            "(postgres://user@host:5432/dbname) and SQLite (sqlite:////abs/path.db)."
        )
    if scheme != "sqlite" and not parts.path.strip("/"):
        raise ConfigurationError(f"{ENV_DATABASE_URL} names no database (expected …/dbname at the end).")
    try:
        # Connections are kept for a minute between requests; a kept connection the server has closed
        # meanwhile (restart, idle timeout) is checked and replaced at the start of the next request.
        parsed = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except (ValueError, KeyError) as exc:
        raise ConfigurationError(f"{ENV_DATABASE_URL} could not be read: {exc}") from exc
    safe_host = parts.hostname or "localhost"
    desc = (
        f"{scheme} database {parts.path.lstrip('/')!r} on {safe_host}"
        if scheme != "sqlite"
        else f"SQLite at {parsed['NAME']}"
    )
    settings = dict(parsed)
    if scheme == "sqlite" and parsed["NAME"] and parsed["NAME"] != ":memory:":
        settings |= _sqlite(Path(parsed["NAME"]))
    return DatabaseConfig(settings, desc)


def allowed_hosts(production: bool) -> list[str]:
    raw = os.environ.get(ENV_ALLOWED_HOSTS, "").strip()
    if raw:
        return [h.strip() for h in raw.split(",") if h.strip()]
    if production:
        raise ConfigurationError(f"{ENV_ALLOWED_HOSTS} must list the site's host names in production mode.")
    return ["127.0.0.1", "localhost", "[::1]", "testserver"]


def default_language() -> str:
    value = os.environ.get(ENV_LANGUAGE, "vi").strip().lower()
    return value if value in ("vi", "en") else "vi"


ENV_MIN_CELL_SIZE = "VOICESCOUNT_MIN_CELL_SIZE"
ENV_SUPPRESS_BELOW = "VOICESCOUNT_SUPPRESS_BELOW"
ENV_CAUTION_BELOW = "VOICESCOUNT_CAUTION_BELOW"


@dataclass(frozen=True)
class DisclosureConfig:
    """The deployment's disclosure rule: no public number rests on fewer than ``min_cell_size``
    respondents (or speakers, or participants); an estimate on fewer than ``suppress_below`` is
    suppressed and on fewer than ``caution_below`` flagged (the DHS convention, 25/50, by default)."""

    min_cell_size: int = 10
    suppress_below: int = 25
    caution_below: int = 50


def _whole_number(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        raise ConfigurationError(f"{name} must be a whole number from 1 to 100000, not {raw!r}.")
    return int(raw)


def disclosure() -> DisclosureConfig:
    """The disclosure rule from ``$VOICESCOUNT_MIN_CELL_SIZE``, ``$VOICESCOUNT_SUPPRESS_BELOW`` and
    ``$VOICESCOUNT_CAUTION_BELOW`` (defaults 10, 25, 50); each must be at least the one before."""
    default = DisclosureConfig()
    rule = DisclosureConfig(
        min_cell_size=_whole_number(ENV_MIN_CELL_SIZE, default.min_cell_size),
        suppress_below=_whole_number(ENV_SUPPRESS_BELOW, default.suppress_below),
        caution_below=_whole_number(ENV_CAUTION_BELOW, default.caution_below),
    )
    if rule.suppress_below < rule.min_cell_size:
        raise ConfigurationError(
            f"{ENV_SUPPRESS_BELOW} ({rule.suppress_below}) is below the minimum cell size "
            f"{ENV_MIN_CELL_SIZE} ({rule.min_cell_size}): an estimate may not rest on fewer respondents "
            "than any other public number."
        )
    if rule.caution_below < rule.suppress_below:
        raise ConfigurationError(
            f"{ENV_CAUTION_BELOW} ({rule.caution_below}) is below {ENV_SUPPRESS_BELOW} "
            f"({rule.suppress_below}): estimates are flagged from the suppression threshold up."
        )
    return rule


def import_workers() -> int:
    """Worker processes that read and check a file being imported (0: none, in the importing process).

    Default: two on a machine with two cores or more (each reads the file and checks every other
    chunk of records while the importing process writes them), none on one core."""
    raw = os.environ.get(ENV_IMPORT_WORKERS, "").strip()
    if not raw:
        return 2 if (os.cpu_count() or 1) > 1 else 0
    if not raw.isdigit() or int(raw) > 16:
        raise ConfigurationError(f"{ENV_IMPORT_WORKERS} must be a whole number from 0 to 16, not {raw!r}.")
    return int(raw)


CACHE_BACKENDS = {
    "locmem": "django.core.cache.backends.locmem.LocMemCache",
    "dummy": "django.core.cache.backends.dummy.DummyCache",
    "redis": "django.core.cache.backends.redis.RedisCache",
    "rediss": "django.core.cache.backends.redis.RedisCache",
}


def cache() -> dict:
    """Django's default cache (rendered public pages, API answers) from ``$VOICESCOUNT_CACHE_URL``.

    ``redis://host:6379/0`` (or ``rediss://`` for TLS): one cache shared by every worker and server;
    ``locmem:`` (the default): each worker process keeps its own; ``dummy:``: nothing is cached. Pages are
    cached under the publication stamp read from the database, so every choice is up to date at once
    after a publication (see ``publishing/page_cache.py``).
    """
    url = os.environ.get(ENV_CACHE_URL, "").strip() or "locmem:"
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in CACHE_BACKENDS:
        raise ConfigurationError(
            f"{ENV_CACHE_URL} must be redis://host:6379/0, rediss://…, locmem: or dummy:, "
            f"not {url.split(':')[0]!r}."
        )
    if scheme in ("locmem", "dummy"):
        return {"BACKEND": CACHE_BACKENDS[scheme], "LOCATION": "voicescount"}
    if importlib.util.find_spec("redis") is None:
        raise ConfigurationError(
            f"{ENV_CACHE_URL} names a Redis server, but the redis package is not installed "
            "(pip install 'voicescount[redis]')."
        )
    if not urlsplit(url).hostname:
        raise ConfigurationError(
            f"{ENV_CACHE_URL} names no Redis server (expected e.g. redis://127.0.0.1:6379/0)."
        )
    return {"BACKEND": CACHE_BACKENDS[scheme], "LOCATION": url, "KEY_PREFIX": "voicescount"}


def encryption_keys(production: bool, directory: Path) -> list[str]:
    """Fernet keys for personal data at rest, newest first (comma-separated, to allow rotation).

    Required from the environment in production; generated once and kept (mode 600) in the data
    directory for the embedded default. Losing the key loses the personal data: back it up.
    """
    from cryptography.fernet import Fernet

    raw = os.environ.get(ENV_ENCRYPTION_KEYS, "").strip()
    if raw:
        keys = [k.strip() for k in raw.split(",") if k.strip()]
        for key in keys:
            try:
                Fernet(key)
            except (ValueError, TypeError):
                raise ConfigurationError(
                    f"{ENV_ENCRYPTION_KEYS} holds a value that is not a Fernet key (32 url-safe "
                    "base64-encoded bytes; generate one with: "
                    'python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())").'
                ) from None
        return keys
    if production:
        raise ConfigurationError(f"{ENV_ENCRYPTION_KEYS} must be set in production mode.")
    path = ensure_data_dir(directory) / "encryption_key"
    if path.exists():
        return [path.read_text(encoding="utf-8").strip()]
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    return [key]


EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
SMTP_SCHEMES = {"smtp": (False, False, 25), "smtp+tls": (True, False, 587), "smtp+ssl": (False, True, 465)}
"""URL scheme → (STARTTLS, implicit TLS, default port)."""
DEFAULT_EMAIL_FROM = "VoicesCount <noreply@localhost>"


@dataclass(frozen=True)
class EmailConfig:
    """How the site sends mail (password reset links): Django's EMAIL_* settings and whether it can at all."""

    backend: str
    host: str = "localhost"
    port: int = 25
    username: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False
    sender: str = DEFAULT_EMAIL_FROM
    can_send: bool = True


def email(production: bool) -> EmailConfig:
    """Mail settings from ``$VOICESCOUNT_EMAIL_URL`` (and ``$VOICESCOUNT_EMAIL_FROM``).

    ``smtp+tls://user:password@host:587`` (STARTTLS), ``smtp+ssl://…:465`` (TLS from the start),
    ``smtp://host:25`` (no encryption) or ``console:`` (printed on the server's console). Unset: the console
    in development; in production no mail is sent and the password reset page says to ask an administrator.
    """
    url = os.environ.get(ENV_EMAIL_URL, "").strip()
    sender = os.environ.get(ENV_EMAIL_FROM, "").strip()
    if not url:
        if production:
            return EmailConfig(EMAIL_BACKENDS["dummy"], sender=sender or DEFAULT_EMAIL_FROM, can_send=False)
        return EmailConfig(EMAIL_BACKENDS["console"], sender=sender or DEFAULT_EMAIL_FROM)
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "console":
        return EmailConfig(EMAIL_BACKENDS["console"], sender=sender or DEFAULT_EMAIL_FROM)
    if scheme not in SMTP_SCHEMES:
        raise ConfigurationError(
            f"{ENV_EMAIL_URL} must start with smtp+tls://, smtp+ssl://, smtp:// or console: "
            "(e.g. smtp+tls://user:password@mail.example.org:587)."
        )
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(
            f"{ENV_EMAIL_URL} has a port that is not a number from 1 to 65535."
        ) from None
    if not parts.hostname:
        raise ConfigurationError(f"{ENV_EMAIL_URL} names no mail server (expected e.g. smtp+tls://host:587).")
    if production and not sender:
        raise ConfigurationError(
            f"{ENV_EMAIL_FROM} must be set in production when {ENV_EMAIL_URL} is "
            "(the sender address of password reset mails, e.g. 'VoicesCount <noreply@sdg.example.org>')."
        )
    use_tls, use_ssl, default_port = SMTP_SCHEMES[scheme]
    return EmailConfig(
        EMAIL_BACKENDS["smtp"],
        host=parts.hostname,
        port=port or default_port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_tls=use_tls,
        use_ssl=use_ssl,
        sender=sender or DEFAULT_EMAIL_FROM,
    )
