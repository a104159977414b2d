"""Settings, all from the environment (12-factor). SQLite is the embedded default;
``DATABASE_URL=postgres://...`` switches to PostgreSQL."""

import os
import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]", "testserver"]),
    IDEMPOTENCY_KEY_TTL_HOURS=(int, 24),
    WEBHOOK_HISTORY_DAYS=(float, 30),
)
environ.Env.read_env(os.environ.get("ENV_FILE", BASE_DIR / ".env"), overwrite=False)

DEBUG = env("DEBUG")
# Sessions, CSRF tokens and password-reset links are signed with SECRET_KEY: a server running with a
# public key can have them forged. The development key is only accepted with DEBUG=true.
DEVELOPMENT_SECRET_KEY = "dev-insecure-oms-key-change-me"
SECRET_KEY = env("SECRET_KEY", default="")
if SECRET_KEY in ("", DEVELOPMENT_SECRET_KEY):
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set (or is the public development key) and DEBUG is false: refusing to "
            "start. Set SECRET_KEY to a long random value, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`, or set DEBUG=true for "
            "local development.")
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS. Behind a load balancer that ends TLS, set SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto (the
# balancer must set that header itself, never pass the client's). HTTPS_ONLY=true turns on the
# redirect, secure cookies and a year of HSTS; each stays overridable on its own.
HTTPS_ONLY = env.bool("HTTPS_ONLY", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS_ONLY)
# Load balancer probes and Prometheus scrapes talk plain HTTP to the node.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/oms/health/$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=HTTPS_ONLY)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=HTTPS_ONLY)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS_ONLY)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if _ssl_header := env("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _ssl_header.upper().replace("-", "_"), "https")

INSTALLED_APPS = [
    "unfold",  # the admin theme: before django.contrib.admin, whose templates it overrides
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oms",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc files, served from here (docs work offline)
    "django_tasks",
    "django_tasks_db",
    "commands",
    "locations",
    "accounts",
    "orders",
    "packages",
    "transfers",
    "planning",
    "webhooks",
]

MIDDLEWARE = [
    "oms.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "oms.i18n.LocaleMiddleware",  # the admin in the user's language; the API always in English
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "oms.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "oms.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the lock when their transaction begins (BEGIN IMMEDIATE) and wait for it,
    # so concurrent commands serialize instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "oms.postgresql"  # its health check: oms/postgresql/base.py
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    # A reused connection is checked before a request uses it: after a failover, a restart or a
    # pooler's idle timeout the request gets a new connection instead of an error.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
    # Server-side parameters and prepared statements: a statement a connection has run
    # DB_PREPARE_THRESHOLD times is planned once (Django's default plans every execution again).
    # Measured (bench/RESULTS.md): a pack's PostgreSQL CPU 3.8 -> 2.6 ms. Behind a pooler in
    # transaction mode that cannot keep prepared statements (PgBouncer < 1.21), set
    # DB_PREPARED_STATEMENTS=false.
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=env.int("DB_PREPARE_THRESHOLD", default=2))

# ModelBackend, with an API user's permissions kept per process for one version of them.
AUTHENTICATION_BACKENDS = ["accounts.permissions.CachedModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The admin speaks English and Turkish (Accept-Language, or the language picked in the admin);
# state and transition names come from their `translations` field. locale/ holds the project's own
# strings (the compiled .mo is committed: nothing to build).
LANGUAGES = [("en", "English"), ("tr", "Türkçe")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Without DEBUG, WhiteNoise serves what `collectstatic` wrote: compressed, under hashed names cached
# for a year. With DEBUG (make run) files come straight from the apps, no collectstatic needed.
# Before collectstatic (tests, make run) STATIC_ROOT does not exist: WhiteNoise would warn on every
# start; `check --deploy` reports a missing collectstatic instead (oms.W001).
warnings.filterwarnings("ignore", message=r"No directory at: ", category=UserWarning)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "oms.storage.StaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: unauthenticated API calls then answer 401 with WWW-Authenticate.
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["oms.api.permissions.ModelPermissionsOrReadOnly"],
    # Strict query strings: unknown parameters, out-of-range numbers and dates answer 400.
    "DEFAULT_FILTER_BACKENDS": [
        "oms.api.filters.FilterBackend",
        "oms.api.filters.OrderingFilter",
        "oms.api.filters.SearchFilter",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "oms.api.parsers.JSONParser",  # refuses bodies nested too deep with a 400
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "oms.api.pagination.PageLimitPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "oms.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "oms.api.schema.OMSAutoSchema",
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "OMS API",
    "DESCRIPTION": "Order Management System: packages, transfers, commands, locations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The contract is JSON (the form parsers serve the browsable API only).
    "PARSER_WHITELIST": ["oms.api.parsers.JSONParser"],
    "ENUM_NAME_OVERRIDES": {
        "PackageStatusEnum": "packages.enums.PackageStatus",
        "TransferStatusEnum": "transfers.enums.TransferStatus",
        "OrderStatusEnum": "orders.enums.OrderStatus",
        "ShipmentStatusEnum": "packages.enums.ShipmentStatus",
    },
}

IDEMPOTENCY_KEY_TTL_HOURS = env("IDEMPOTENCY_KEY_TTL_HOURS")
# Age after which `purge_webhook_history` deletes delivered deliveries and their events.
WEBHOOK_HISTORY_DAYS = env("WEBHOOK_HISTORY_DAYS")

# Background work (webhook deliveries) on Django's Tasks API, run by `manage.py run_worker`. The
# database backend enqueues in the same transaction as the change and needs no broker. On Redis:
# TASKS_BACKEND=django_tasks_rq.RQBackend and REDIS_URL=redis://host:6379/0, nothing else.
TASKS_BACKEND = env("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")
TASKS = {"default": {"BACKEND": TASKS_BACKEND, "QUEUES": ["default"]}}
REDIS_URL = env("REDIS_URL", default="")
RQ_ENABLED = TASKS_BACKEND.startswith("django_tasks_rq.")
if RQ_ENABLED:
    if not REDIS_URL:
        raise ImproperlyConfigured(f"TASKS_BACKEND={TASKS_BACKEND} needs REDIS_URL "
                                   "(e.g. redis://127.0.0.1:6379/0).")
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
# A delivery run sends every due delivery; one slow receiver costs at most WEBHOOK_TOTAL_TIMEOUT per
# attempt. RQ stops a job after DEFAULT_TIMEOUT (its leases then expire and another run resumes).
RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0",
                         "DEFAULT_TIMEOUT": env.int("RQ_JOB_TIMEOUT", default=900)}}
RQ_SHOW_ADMIN_LINK = False

WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=3.0)
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=10.0)
WEBHOOK_TOTAL_TIMEOUT = env.float("WEBHOOK_TOTAL_TIMEOUT", default=15.0)  # whole request, lookup to body
# Webhook targets must be public addresses; true lets them reach loopback/private networks (on-premises
# receivers, local development).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_MAX_COUNTDOWN = env.int("WEBHOOK_MAX_COUNTDOWN", default=6 * 3600)  # cap on a retry delay, s
WEBHOOK_MAX_CONSECUTIVE_FAILURES = env.int("WEBHOOK_MAX_CONSECUTIVE_FAILURES", default=10)
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", default=120)

# Every line carries the request id (X-Request-ID) of the request it belongs to ("-" outside one).
# LOG_FORMAT=json: one JSON object per line, for a log shipper.
LOG_FORMAT = env("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "oms.logging.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "oms.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                             "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler would print runserver lines a second time.
        "django": {"handlers": [], "propagate": True},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# GET /metrics (Prometheus) answers loopback clients that came through no proxy; with METRICS_TOKEN
# set, only requests with "Authorization: Bearer <METRICS_TOKEN>". Under gunicorn every worker's
# counts add up through PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py sets one up).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# health/ calls the worker stalled when a due task or delivery has waited longer than this.
WORKER_STALL_SECONDS = env.int("WORKER_STALL_SECONDS", default=300)
# `run_worker` serves its own metrics (webhook deliveries are counted where they are sent) on
# http://WORKER_METRICS_HOST:WORKER_METRICS_PORT/metrics when the port is set.
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
WORKER_METRICS_HOST = env("WORKER_METRICS_HOST", default="127.0.0.1")

# The admin runs on django-unfold (https://unfoldadmin.com/docs/configuring/settings/); the OMS's
# stylesheet adds the command bar, confirmations and timeline (oms.admin_base).
UNFOLD = {
    "SITE_TITLE": "OMS",
    "SITE_HEADER": "OMS",
    "SITE_SUBHEADER": "Order management",
    "SITE_SYMBOL": "local_shipping",
    "SHOW_VIEW_ON_SITE": False,
    "STYLES": ["oms.admin_base.admin_stylesheet"],
    # The command palette searches every admin's rows too (scoped like the lists).
    "COMMAND": {"search_models": True},
    # The admin's home page: a store's work queue or the operations overview (oms/dashboard.py).
    "DASHBOARD_CALLBACK": "oms.dashboard.dashboard_callback",
    "SHOW_LANGUAGES": True,  # English / Türkçe switch in the admin's header
}
