"""Settings from environment variables and the optional auth configuration file (docs/configuration.md)."""
from __future__ import annotations

import difflib
import errno
import ipaddress
import json
import os
import re
import ssl
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar
from urllib.parse import SplitResult, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from cds_service.config_constants import DEFAULT_FETCH_BUDGET_SECONDS, METRICS_DIR_VARIABLE
from cds_service.db import UNENCODED_AT, driver_url, option_problem
from cds_service.db_sqlite import sqlite_file
from cds_service.exceptions import path_expression
from cds_service.file_schemas import file_validator, schema_problem
from cds_service.urls import internal_host, normalized_url

LOCAL_BASE_URL = "http://127.0.0.1:8080"
SERVICES_SEGMENT = "cds-services"  # CDS Hooks: discovery is at {baseUrl}/cds-services, the services below it
# Every variable the service reads (README's table lists each). One that is set but empty or blank stops the start-up:
# a deploy template whose secret or path is missing produces exactly that, and reading it as unset would fall back,
# silently, to local mode (no authentication), the SQLite file in ./data, all CORS origins, or the built-in policies,
# value sets or card wording instead of the operator's.
VARIABLES = ("CDS_AUTH_CONFIG", "CDS_DATABASE_URL", "CDS_DATA_DIR", "CDS_MAX_BODY_BYTES", "CDS_CORS_ORIGINS",
             "CDS_FETCH_BUDGET_SECONDS", "CDS_PUBLIC_BASE_URL", "CDS_TIME_ZONE", "CDS_LOG_LEVEL", "CDS_VALUESET_DIR",
             "CDS_POLICY_DIR", "CDS_CARDS_DIR")
# How alike a CDS_ name this service does not read must be to one it reads to be taken for a misspelling of it
# (difflib's ratio: CDS_AUTH_CONFIGURATION 0.81, CDS_DB_URL 0.77 to CDS_DATABASE_URL).
_MISSPELLING_RATIO = 0.75
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
# A request body is held in memory and parsed, at about five times its size in Python objects: 100 MB already takes
# a worker past half a gigabyte.
MAX_BODY_BYTES_CAP = 100 * 1024 * 1024
# The fetch, the references' extra second and the evaluation (config_constants.longest_call_seconds) must end well
# before gunicorn's worker timeout (30 s by default), which kills a worker mid-call, and its queued audit records
# with it.
MAX_FETCH_BUDGET_SECONDS = 20
# Less fetches nothing (a TLS handshake alone takes tens of milliseconds): every key prefetch left out would be "not
# received", quietly. 1e-300 was taken.
MIN_FETCH_BUDGET_SECONDS = 0.1
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
N = TypeVar("N", int, float)
# The numbers of the environment, in ASCII digits; a whole one short enough for int() (which refuses over 4,300 digits).
_WHOLE = re.compile(r"[0-9]{1,18}")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
# How far ahead a JWT's exp may be, unless the auth configuration's max_token_lifetime_seconds says (its schema caps
# it, and says why).
DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 300
_EXAMPLE_DATABASE_URL = "postgresql+psycopg://user:password@host:5432/cds"
SUPPORTED_DATABASES = ("postgresql", "sqlite")  # SQLAlchemy's dialect names


class ConfigError(ValueError):
    """The environment or the auth configuration file is unusable: the service refuses to start."""


@dataclass(frozen=True)
class ClientConfig:
    """One trusted CDS client (an EHR): who signs its JWTs and which FHIR servers it may point us at."""

    iss: str
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None
    fhir_servers: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuthConfig:
    require_jwt: bool
    public_base_url: str | None
    clients: tuple[ClientConfig, ...]
    max_token_lifetime_seconds: int = DEFAULT_MAX_TOKEN_LIFETIME_SECONDS

    def client(self, iss: str) -> ClientConfig | None:
        return next((c for c in self.clients if c.iss == iss), None)


@dataclass(frozen=True)
class Settings:
    database_url: str
    public_base_url: str = LOCAL_BASE_URL
    auth: AuthConfig | None = None  # None: local mode (no JWT required, presented tokens not verified)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cors_origins: tuple[str, ...] = ("*",)
    fetch_budget_seconds: float = DEFAULT_FETCH_BUDGET_SECONDS
    time_zone: ZoneInfo | None = None  # of the clinical date; None: the server's local time zone
    log_level: str = "INFO"
    metrics_dir: str | None = None  # PROMETHEUS_MULTIPROC_DIR; None: each process its own metrics

    @property
    def local_mode(self) -> bool:
        return self.auth is None

    def today(self) -> date:
        """The clinical date ("today" of ages, cycle days and an order's default start) in the time zone of the
        EHR's users: a server in UTC would otherwise date a US evening order tomorrow."""
        return datetime.now(self.time_zone).date()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        check_not_blank(env, VARIABLES)
        check_not_misspelt(env)
        auth = _load_auth(env.get("CDS_AUTH_CONFIG"))
        own_url = env.get("CDS_PUBLIC_BASE_URL")  # checked even where the auth file's public_base_url wins
        own_url = own_url and checked_base_url(own_url, "CDS_PUBLIC_BASE_URL")
        database_url = _database_url(env)
        _check_ca_bundle(env)
        return cls(
            database_url=database_url,
            public_base_url=(auth and auth.public_base_url) or own_url or LOCAL_BASE_URL,
            auth=auth,
            max_body_bytes=_number(env, "CDS_MAX_BODY_BYTES", int, DEFAULT_MAX_BODY_BYTES, (1, MAX_BODY_BYTES_CAP),
                                   "a whole number of bytes"),
            cors_origins=_origins(env.get("CDS_CORS_ORIGINS")),
            fetch_budget_seconds=_number(env, "CDS_FETCH_BUDGET_SECONDS", float, DEFAULT_FETCH_BUDGET_SECONDS,
                                         (MIN_FETCH_BUDGET_SECONDS, MAX_FETCH_BUDGET_SECONDS), "a number of seconds"),
            time_zone=_time_zone(env.get("CDS_TIME_ZONE")),
            log_level=_log_level(env.get("CDS_LOG_LEVEL")),
            metrics_dir=_metrics_dir(env.get(METRICS_DIR_VARIABLE), database_url),
        )


def check_not_blank(env: Mapping[str, str], names: tuple[str, ...]) -> None:
    """A ConfigError for the first of `names` that `env` sets to nothing but blanks (see VARIABLES)."""
    for name in names:
        if name in env and not env[name].strip():
            raise ConfigError(f"{name} is set but empty: give it a value, or unset it for its default")


def check_not_misspelt(env: Mapping[str, str]) -> None:
    """A ConfigError for a variable named like one of VARIABLES but not one of them: the one meant would be unset, and
    a misspelt CDS_AUTH_CONFIG runs the service in local mode, with no authentication. CDS_ names unlike any of them
    (another program's, the test suite's CDS_TEST_POSTGRES_URL) are left alone."""
    for name in sorted(env):
        if name.startswith("CDS_") and name not in VARIABLES:
            meant = difflib.get_close_matches(name, VARIABLES, n=2, cutoff=_MISSPELLING_RATIO)
            if meant:
                raise ConfigError(f"{name} is not a variable of this service: did you mean {' or '.join(meant)}? "
                                  "Rename or unset it")


def default_database_url(data_dir: str | None) -> str:
    """The local default: an SQLite file in CDS_DATA_DIR (default ./data)."""
    return f"sqlite:///{(Path(data_dir or 'data') / 'cds.db').resolve()}"


def _database_url(env: Mapping[str, str]) -> str:
    """CDS_DATABASE_URL, else the SQLite file in CDS_DATA_DIR; checked without connecting, since a database that is
    down at start-up is an outage for the service to ride out, not a configuration error."""
    name = "CDS_DATABASE_URL" if env.get("CDS_DATABASE_URL") else "CDS_DATA_DIR"
    raw = env.get("CDS_DATABASE_URL") or default_database_url(env.get("CDS_DATA_DIR"))
    url = parse_database_url(raw, name)
    if _in_memory(url):
        # Refused in local mode too: the audit writer's thread had a database of its own, without the schema the
        # start-up created in another, so every record failed, waited in memory and was lost at the stop.
        raise ConfigError(f"{name}: an in-memory SQLite database is one per process (and per thread): the audit "
                          "records would be lost, and a JWT used at one worker accepted again at another; use a file "
                          "(the default, in CDS_DATA_DIR) or PostgreSQL")
    if url.get_backend_name() == "sqlite" and url.database:
        path = _sqlite_path(url, name)
        _check_writable_folder(path.parent, name)
        _check_writable_files(path, name)
    return raw


def _in_memory(url: URL) -> bool:
    """sqlite://, sqlite:///:memory:, or an SQLite URI with mode=memory or vfs=memdb, or naming no file
    (`file::memory:`, SQLAlchemy's own example, and `file:`, a temporary database of each connection's)."""
    if url.get_backend_name() != "sqlite":
        return False
    return sqlite_file(url).in_memory or url.query.get("mode") == "memory" or url.query.get("vfs") == "memdb"


# SQLite's URI parameters that leave the audit trail unwritable, or its workers unlocked: each would answer every
# call while its audit records failed and were lost at the stop, or corrupt the file.
_SQLITE_REFUSED = {
    "immutable": "says the file never changes (immutable): every audit record would fail",
    "nolock": "turns SQLite's locks off (nolock): the workers and the audit writer share the file through them",
}
_SQLITE_MODES = ("ro", "rw", "rwc", "memory")  # SQLite refuses to open a URI with any other


def _sqlite_path(url: URL, name: str) -> Path:
    """The file an SQLite URL names (db_sqlite.sqlite_file: a `file:` URI's path, not the URI taken for a path),
    resolved; a ConfigError for a URI that SQLite would not open, or that leaves the trail unwritable."""
    named = sqlite_file(url)
    if named.host not in ("", "localhost"):
        raise ConfigError(f"{name}: an SQLite URI names a file of this machine: file:/path or file:///path, no host")
    mode = named.option("mode")
    if mode == "ro":
        raise ConfigError(f"{name}: the SQLite URI opens the file read-only (mode=ro): every audit record would fail; "
                          "remove mode=ro")
    if mode is not None and mode not in _SQLITE_MODES:
        raise ConfigError(f"{name}: SQLite knows no mode {mode!r} (its modes: {', '.join(_SQLITE_MODES)})")
    for option, why in _SQLITE_REFUSED.items():
        if _sqlite_true(named.option(option) or ""):
            raise ConfigError(f"{name}: the SQLite URI {why}; remove {option}")
    return Path(named.path).resolve()


def _sqlite_true(value: str) -> bool:
    """Whether SQLite may read a URI parameter's `value` as true (sqlite3GetBoolean): a number by its leading digits
    (`2`, `01`; taken as true unless all zeros, whatever SQLite does past an int's range), or one of its words in any
    case. `immutable=2` passed the check as false, and SQLite opened the file immutable."""
    digits = re.match(r"\d+", value)
    return digits.group().strip("0") != "" if digits else value.lower() in ("on", "yes", "true", "extra")


def parse_database_url(raw: str, name: str) -> URL:
    """`raw` read as a SQLAlchemy URL whose driver is installed and would take its options, or a ConfigError naming
    `name`. The messages never repeat the URL, which holds the password."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(f"{name} is not a database URL; expected e.g. {_EXAMPLE_DATABASE_URL}") from None
    except ValueError:  # what make_url raises for a port that is not a number
        if raw.count("@") > 1:  # a password's "@" before a ":" ("se@cr:et"): what followed was read as the port
            raise ConfigError(f"{name}: {UNENCODED_AT}") from None
        raise ConfigError(f"{name}: the port of the database URL is not a number") from None
    try:
        dialect = driver_url(url).get_dialect()
    except NoSuchModuleError:
        raise ConfigError(f"{name}: SQLAlchemy knows no database {url.drivername!r}; expected e.g. "
                          f"{_EXAMPLE_DATABASE_URL} or sqlite:///path/cds.db") from None
    if dialect.name not in SUPPORTED_DATABASES:
        # The audit writer's statements are PostgreSQL's and SQLite's (db_writes.insert_new_rows: their ON CONFLICT):
        # "the driver of 'mysql' is not installed" sent the operator to install one, for a database that cannot work.
        raise ConfigError(f"{name}: the audit database is PostgreSQL or SQLite, not {dialect.name}; expected e.g. "
                          f"{_EXAMPLE_DATABASE_URL} or sqlite:///path/cds.db")
    try:
        dialect.import_dbapi()
    except ImportError:
        raise ConfigError(f"{name}: the driver of {url.drivername!r} is not installed (PostgreSQL: "
                          f"pip install '.[postgres]' and {_EXAMPLE_DATABASE_URL})") from None
    if url.get_backend_name() == "sqlite" and url.host:
        # SQLAlchemy's SQLite driver ignores a host: sqlite://data/cds.db opened cds.db in the working directory, and
        # the audit trail was kept where nobody looked for it (the audit and migrate commands too).
        raise ConfigError(f"{name}: an SQLite URL names no host, and {url.host!r} would be left out of the file's "
                          "path: write sqlite:///relative/path/cds.db (three slashes) or "
                          "sqlite:////absolute/path/cds.db (four)")
    problem = option_problem(driver_url(url))  # else the service would run with its audit trail refused
    if problem:
        raise ConfigError(f"{name}: {problem}")
    return url


def _check_writable_folder(folder: Path, name: str) -> None:
    """The SQLite file's folder exists or can be created (by db.create_db_engine), and can be written: checked on
    the nearest existing ancestor, without creating anything."""
    try:
        existing = next(path for path in (folder, *folder.parents) if path.exists())
    except OSError as exc:
        raise ConfigError(f"{name} {folder}: {exc.strerror}") from None
    if not existing.is_dir():
        raise ConfigError(f"{name} {folder}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{name} {folder}: cannot write in {existing}")
    _try_creating_in(existing, f"{name} {folder}")


# What making a folder in a folder said to exist and be writable answers when it never will: the service refused
# (a mandatory access control, an immutable folder, NFS's root squash), a read-only mount, a pseudo-filesystem (/proc,
# /sys: ENOENT). Anything else (EIO, ESTALE: a network file system away) is left to the start, an outage it rides out.
_NEVER_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR})


def _try_creating_in(existing: Path, where: str) -> None:
    """Make and remove an empty folder in `existing`: os.access asks only the permission bits, and for root says yes
    to any folder on a writable mount, /proc included, where nothing can be created. CDS_DATA_DIR=/proc/x then started
    a service (as root) whose audit trail could never be created: the start looked fine, and /readyz answered 503."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".cds-write-check-", dir=existing))
    except OSError as exc:
        if exc.errno in _NEVER_WRITABLE:
            raise ConfigError(f"{where}: nothing can be created in {existing} ({exc.strerror}): give a folder of a "
                              "writable file system") from None


def _check_writable_files(database: Path, name: str) -> None:
    """An existing SQLite file (or its WAL files) the service cannot write: else it would answer every call while
    each audit record failed (SQLITE_READONLY) and was lost at the stop."""
    for path in (database, database.with_name(f"{database.name}-wal"), database.with_name(f"{database.name}-shm")):
        if path.exists() and not os.access(path, os.W_OK):
            raise ConfigError(f"{name}: the SQLite file {path} is read-only for this user")


def _metrics_dir(raw: str | None, database_url: str) -> str | None:
    """PROMETHEUS_MULTIPROC_DIR: an existing folder the service can write in. prometheus_client takes the variable
    set to anything, empty included, for multiprocess mode, and would write its files wherever that leads (an empty
    value: the working directory), or fail at the first metric."""
    if raw is None:
        return None
    folder = Path(raw)
    if not raw.strip() or not folder.is_dir():
        raise ConfigError(f"{METRICS_DIR_VARIABLE} {raw!r} is not a directory: create it (empty, one per gunicorn "
                          "instance) or unset the variable")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{METRICS_DIR_VARIABLE} {raw!r}: cannot write in it")
    database = make_url(database_url)
    if database.get_backend_name() == "sqlite" and database.database and not _in_memory(database) \
            and Path(sqlite_file(database).path).resolve().parent == folder.resolve():  # its *.db read as metrics
        raise ConfigError(f"{METRICS_DIR_VARIABLE} {raw!r} is the audit database's folder: give the metrics a folder "
                          "of their own")
    return raw


# requests' own variables for the CAs its TLS trusts, in its order: the first set and not empty is used, for every
# call to a FHIR server or a JWK Set URL (docs/configuration.md).
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def _check_ca_bundle(env: Mapping[str, str]) -> None:
    """The CA bundle requests would use (REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE) exists and holds certificates. A
    path that does not exist made requests raise OSError before connecting, for every https FHIR server and JWK Set
    URL: each fetch an "error of the service" with its traceback, the start-up's key check a crash. A file with no
    certificate failed every TLS handshake."""
    name = next((variable for variable in CA_BUNDLE_VARIABLES if env.get(variable)), None)
    if name is None:
        return
    path = env[name]
    if not os.path.exists(path):
        raise ConfigError(f"{name} {path!r} does not exist: every https call to a FHIR server or JWK Set URL would "
                          "fail; name a PEM file of the CAs to trust, or unset it for the certifi bundle")
    try:
        if os.path.isdir(path):
            ssl.create_default_context(capath=path)
        else:
            ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"{name} {path!r} holds no CA certificate TLS can use ({exc.strerror or exc}): name a PEM "
                          "file of the CAs to trust, or unset it for the certifi bundle") from None


def _number(env: Mapping[str, str], name: str, parse: Callable[[str], N], default: N, bounds: tuple[N, N],
            what: str) -> N:
    """A number from bounds[0] to bounds[1] written in ASCII digits (and a decimal point, for a float); `default`
    when unset. int() and float() also read other scripts' digits (`١٠٠`), `1_000`, exponents, nan and inf."""
    raw = env.get(name)
    if raw is None:
        return default
    written = (_WHOLE if parse is int else _DECIMAL).fullmatch(raw.strip())
    value = parse(raw.strip()) if written else None
    low, high = bounds
    if value is None or not low <= value <= high:
        raise ConfigError(f"{name} must be {what} from {low} to {high}, got {raw!r}")
    return value


def _time_zone(raw: str | None) -> ZoneInfo | None:
    if raw is None:
        return None
    try:
        return ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: a path, not a name ("../x", "/etc/localtime")
        raise ConfigError(f"CDS_TIME_ZONE {raw!r} is not an IANA time zone name (e.g. America/Chicago, UTC)") from None


def _log_level(raw: str | None) -> str:
    # The documented names only: logging also knows NOTSET (which hands the level to the root logger, WARNING by
    # default: less logged, not more) and the aliases WARN and FATAL.
    level = (raw or "INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"CDS_LOG_LEVEL {raw!r} is not a logging level ({', '.join(LOG_LEVELS)})")
    return level


# Anywhere in a URL: any whitespace (Unicode's too), a C0 control character or DEL.
_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")
# An origin as a browser sends it: scheme://host[:port], nothing else (flask-cors compares whole strings, and reads one
# with * ? [ ( $ as a regular expression).
_ORIGIN = re.compile(r"(https?)://([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::([0-9]{1,5}))?/?", re.IGNORECASE)
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _origins(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return ("*",)
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    if not entries:
        raise ConfigError(f"CDS_CORS_ORIGINS {raw!r} lists no origin")
    if "*" in entries and len(entries) > 1:
        raise ConfigError("CDS_CORS_ORIGINS: * allows every origin: give it alone, or list the origins without it")
    return ("*",) if entries == ["*"] else tuple(_origin(entry) for entry in entries)


def _origin(entry: str) -> str:
    """`entry` as the browser's Origin header says it: without a trailing slash or a default port, which would match
    no browser."""
    match = _ORIGIN.fullmatch(entry)
    if match is None or int(match.group(3) or 0) > 65535:
        # A list written with spaces or semicolons (a habit of other settings) reads as one entry, whose fix is the
        # separator, not the origins.
        separator = "; separate the origins with commas" if re.search(r"[\s;]", entry) else ""
        raise ConfigError(f"CDS_CORS_ORIGINS {entry!r} is not an origin: scheme://host[:port] with no path, "
                          f"e.g. https://ehr.example.org{separator}")
    scheme, host, port = match.groups()
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme.lower()] else "")


def _load_auth(path: str | None) -> AuthConfig | None:
    if path is None:  # local mode: only when unset (set but empty stopped the start-up already)
        return None
    # Said in words, with what to do: Python's own messages ("[Errno 13] Permission denied: '/etc/...'", "'utf-8'
    # codec can't decode byte 0xff") named neither the fix nor, for a JSON mistake, that the file is not JSON.
    try:
        # utf-8-sig: a byte order mark, which Windows editors write, is dropped (RFC 8259 lets a parser ignore it);
        # json.loads refused the file in words of Python's ("Unexpected UTF-8 BOM (decode using utf-8-sig)").
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"CDS_AUTH_CONFIG {path}: cannot read it ({exc.strerror}): name the auth configuration "
                          "file, readable by the service's user") from None
    except UnicodeDecodeError:
        raise ConfigError(f"CDS_AUTH_CONFIG {path} is not UTF-8 text: save the auth configuration as UTF-8 "
                          "JSON") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"CDS_AUTH_CONFIG {path} is not valid JSON: {exc}") from None
    return parse_auth_config(data)


def parse_auth_config(data: Any) -> AuthConfig:
    """Checks the auth configuration (docs/configuration.md) so a typo fails at start-up, not per request: its shape
    against schemas/auth-config.schema.json, then what a schema cannot say."""
    if isinstance(data, dict) and "keys" in data and "clients" not in data:
        # The EHR's JWK Set named instead of the file that trusts it: "unknown key 'keys'" said what, not why.
        raise ConfigError("auth configuration: this is a JWK Set (its 'keys'), not the auth configuration: name the "
                          "file of trusted clients, and give the set as a client's jwks (or its URL as jwks_url)")
    _check_schema(data)
    require_jwt = data.get("require_jwt", True)
    clients = data.get("clients", [])
    if require_jwt and not clients:
        raise ConfigError("auth configuration 'clients' is missing or empty: with require_jwt every call is refused")
    base = data.get("public_base_url")
    if base is not None:
        base = checked_base_url(base, "auth configuration 'public_base_url'")
    parsed = tuple(_parse_client(c, i) for i, c in enumerate(clients))
    _check_unique_issuers(parsed)
    return AuthConfig(require_jwt=require_jwt, public_base_url=base, clients=parsed,
                      max_token_lifetime_seconds=data.get("max_token_lifetime_seconds",
                                                          DEFAULT_MAX_TOKEN_LIFETIME_SECONDS))


def _check_schema(data: Any) -> None:
    """A ConfigError naming the key (and, within a client, its iss) of the file's first structural mistake. Its
    strings are never quoted: a URL may carry a password."""
    problem = schema_problem(file_validator("auth-config"), data, quote_text=False)
    if problem is not None:
        where = " ".join(part for part in ("auth configuration", path_expression(problem.path),
                                           _client_iss(data, problem.path)) if part)
        raise ConfigError(f"{where}: {problem.message}")


def _client_iss(data: Any, path: tuple[str | int, ...]) -> str:
    """"(iss X)" when `path` lies in a client that names its issuer: the name an operator knows the client by."""
    client = data["clients"][path[1]] if len(path) > 1 and path[0] == "clients" else None
    iss = client.get("iss") if isinstance(client, dict) else None
    return f"(iss {iss})" if isinstance(iss, str) and iss else ""


def checked_base_url(url: Any, where: str) -> str:
    """The service's public URL (CDS_PUBLIC_BASE_URL, or the auth file's public_base_url), as card links, the
    Questionnaire canonical and the JWT audience use it: checked alike wherever it comes from, without the trailing
    slash. Not one naming the service's own path (`.../cds-services`, the discovery URL an EHR was given): the service
    adds it, so every JWT's audience and every card link would have held it twice."""
    _check_url(url, where, https=False)
    base = str(url).rstrip("/")
    parts = urlsplit(base)
    segments = parts.path.split("/")
    if SERVICES_SEGMENT in segments:
        meant = parts._replace(path="/".join(segments[:segments.index(SERVICES_SEGMENT)])).geturl()
        raise ConfigError(f"{where} {url!r} holds /{SERVICES_SEGMENT}, which the service adds itself (discovery is "
                          f"<base URL>/{SERVICES_SEGMENT}): use {meant!r}")
    return base


def _parse_client(data: dict[str, Any], index: int) -> ClientConfig:
    """A client whose shape the schema checked: its URLs as the FHIR server allowlist compares them."""
    where = f"auth configuration clients[{index}] (iss {data['iss']})"
    jwks_url = data.get("jwks_url")  # or jwks: the schema wants exactly one (null is as absent)
    if jwks_url is not None:
        _check_fetched_url(jwks_url, f"{where} jwks_url")
    fhir_servers = tuple(data.get("fhir_servers") or ())
    for entry in fhir_servers:
        _check_fetched_url(entry, f"{where} fhir_servers entry")
    return ClientConfig(iss=data["iss"], jwks_url=jwks_url, jwks=data.get("jwks"), fhir_servers=fhir_servers,
                        tenants=tuple(data.get("tenants", ())))


def _check_fetched_url(url: Any, where: str) -> None:
    """A URL the service fetches from for a client (a FHIR server, its JWK Set): https, and not at a link-local or
    cloud metadata host, whose answers (the instance's credentials) no client may point the service at. The FHIR
    server allowlist refuses those hosts whatever the configuration says."""
    _check_url(url, where, https=True)
    if internal_host(url):
        raise ConfigError(f"{where} {url!r} is a link-local or cloud metadata host, never fetched from")


def _check_unique_issuers(clients: tuple[ClientConfig, ...]) -> None:
    # Tokens of an issuer are looked up by iss: two entries would mix one's keys with the other's servers and tenants.
    seen: set[str] = set()
    for index, client in enumerate(clients):
        if client.iss in seen:
            raise ConfigError(f"auth configuration clients[{index}]: iss {client.iss} is configured more than once")
        seen.add(client.iss)


def _check_url(url: Any, where: str, *, https: bool) -> None:
    """An absolute http(s) URL that the FHIR server allowlist can compare (normalized_url). With `https`, plain http
    only for a loopback host: tokens are sent there (the EHR's access token) or keys read from there."""
    if isinstance(url, str) and _has_credentials(url):  # said, not repeated: the message would print the password
        raise ConfigError(f"{where} must not carry credentials (user:password@)")
    malformed = _malformed(url) if isinstance(url, str) else None
    if malformed:
        raise ConfigError(f"{where} {url!r} {malformed}")
    if not isinstance(url, str) or normalized_url(url) is None:
        raise ConfigError(f"{where} {url!r} is not an absolute http(s) URL without credentials or ./.. segments")
    parts = urlsplit(url)
    if "?" in url or "#" in url:  # an empty one too: the paths appended to a base URL would follow it
        raise ConfigError(f"{where} {url!r} has a query or fragment")
    if https and parts.scheme == "http" and not loopback_host(parts.hostname or ""):
        raise ConfigError(f"{where} {url!r} must use https (http only for a loopback host)")


def _malformed(url: str) -> str | None:
    """What makes an http(s) URL no URL though urlsplit reads it: whitespace or a control character (urlsplit drops
    some and keeps others, in the host too), no host, a port outside 1 to 65535. Such a public base URL made an invalid
    Questionnaire canonical and a JWT audience no client sends."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None  # a malformed IPv6 host: no absolute URL (normalized_url)
    if parts.scheme not in ("http", "https"):
        return None  # no http(s) URL at all (normalized_url)
    if _NOT_IN_URL.search(url):
        return "holds whitespace or a control character, which no URL may hold"
    if not parts.hostname:
        return "names no host"
    if "*" in parts.hostname:  # read as a pattern by the operator, as one host named '*...' by the allowlist
        return "names a wildcard host, which no URL matches: list each URL in full"
    return None if _port_in_range(parts) else "has a port that is not a number from 1 to 65535"


def _port_in_range(parts: SplitResult) -> bool:
    try:
        return parts.port != 0  # None: the scheme's default
    except ValueError:  # above 65535, or not a number
        return False


def _has_credentials(url: str) -> bool:
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:  # a malformed IPv6 host: refused by the checks that follow, unless it hides credentials
        return "@" in url


def loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


