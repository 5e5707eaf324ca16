"""Django settings. Everything configurable comes from the environment (see ``config.py`` and the README)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from voicescount import config

BASE_DIR = Path(__file__).resolve().parent
MODE = config.mode()
PRODUCTION = MODE == "production"
DATA_DIR = config.data_dir()
if not PRODUCTION:
    config.ensure_data_dir(DATA_DIR)

SECRET_KEY = config.secret_key(PRODUCTION, DATA_DIR)
# Personal data of respondents is encrypted at rest with these keys (see collection/crypto.py).
VOICESCOUNT_ENCRYPTION_KEYS = config.encryption_keys(PRODUCTION, DATA_DIR)

VOICESCOUNT_IMPORT_WORKERS = config.import_workers()
# Analysis snapshots (Parquet, the answers each computation reads; see indicators/snapshots.py).
VOICESCOUNT_SNAPSHOT_DIR = config.snapshot_dir(DATA_DIR)
DEBUG = False
ALLOWED_HOSTS = config.allowed_hosts(PRODUCTION)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",  # sign-in rate limit (see the sign-in block below)
    "django_tasks",
    "django_tasks_db",  # background jobs (imports) in the database: `voicescount worker` runs them
    "voicescount.accounts",
    "voicescount.framework",
    "voicescount.geography",
    "voicescount.collection",
    "voicescount.indicators",
    "voicescount.publishing",
    "voicescount.workspace",
    "voicescount.voices",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "voicescount.publishing.middleware.LanguageFallbackMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a refused sign-in of a locked-out client into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "voicescount.urls"
WSGI_APPLICATION = "voicescount.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_db = config.database(DATA_DIR)
DATABASES = {"default": _db.settings}

# Background jobs (collection/jobs.py): queued in the database, run by `voicescount worker` processes,
# which claim a job with SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL) or an exclusive transaction (SQLite).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
DATABASE_DESCRIPTION = _db.description
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rendered public pages and API answers (publishing/page_cache.py, publishing/api.py): each worker's
# memory, or a Redis server shared by every worker (VOICESCOUNT_CACHE_URL, read in config.cache).
CACHES = {"default": config.cache()}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Signing in: the site's own pages (accounts/urls.py) for every role; the admin login only for staff.
LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "accounts:account"
# Failed sign-ins are counted by django-axes (in the database, table axes_accessattempt), per username
# and address together: after AXES_FAILURE_LIMIT failures that username is refused from that address
# for AXES_COOLOFF_TIME, on the site's sign-in page and the admin login alike. An administrator unlocks
# earlier with `voicescount manage axes_reset_username USERNAME` (or axes_reset for everyone).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a successful sign-in forgets the earlier failures
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # trying again while locked does not prolong it
AXES_LOCKOUT_CALLABLE = "voicescount.accounts.views.locked_out"
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are not recorded (no need to keep who came from where)
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address"]  # masked in axes' log lines
# Password reset mails: printed on the console in development; SMTP from VOICESCOUNT_EMAIL_URL (config.py).
_email = config.email(PRODUCTION)
EMAIL_BACKEND = _email.backend
EMAIL_HOST, EMAIL_PORT = _email.host, _email.port
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = _email.username, _email.password
EMAIL_USE_TLS, EMAIL_USE_SSL = _email.use_tls, _email.use_ssl
DEFAULT_FROM_EMAIL = SERVER_EMAIL = _email.sender
VOICESCOUNT_PASSWORD_RESET_BY_EMAIL = _email.can_send
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24  # a reset link works for a day

# Languages: Vietnamese is the default for the Vietnam deployment; the URL prefix (/vi/, /en/) decides.
LANGUAGE_CODE = config.default_language()
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_TZ = True

# Request bodies read into memory: room for the submissions API's largest batch (5,000 submissions).
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
if not PRODUCTION:
    STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing root; collectstatic fills it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# Security headers are on in every mode; HTTPS-only settings in production.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [f"https://{h}" for h in ALLOWED_HOSTS if not h.startswith(".")]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# Disclosure control for everything public (see docs/disclosure-and-lnob.md), from the environment
# (config.disclosure); a study may be stricter, never looser (indicators.disclosure_rule).
# Published estimates: fewer than SUPPRESS_BELOW unweighted respondents → suppressed; fewer than
# CAUTION_BELOW → flagged (the DHS convention, 25/50). MIN_CELL_SIZE is the floor for any public count.
VOICESCOUNT_DISCLOSURE = config.disclosure()
