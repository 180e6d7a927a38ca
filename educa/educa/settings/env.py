"""Reading configuration from the environment, for the settings modules only.

Values come from environment variables (or a ``.env`` file, through
python-decouple). A secret may instead be given as a file, which is how Docker
secrets arrive: ``NAME_FILE=/path`` or ``/run/secrets/<name>``.
"""

import ssl
from pathlib import Path
from urllib.parse import unquote, unquote_plus, urlsplit, urlunsplit

from decouple import Csv, config

SECRETS_DIR = Path("/run/secrets")

__all__ = [
    "Csv",
    "config",
    "required",
    "secret",
    "redis_connection_kwargs",
    "redis_url",
    "split_redis_credentials",
]


class MissingSetting(SystemExit):
    """A required variable is absent: start-up stops with one line naming it."""

    def __init__(self, name):
        self.name = name
        super().__init__(
            f"educa: required setting {name} is missing: set the {name} environment "
            f"variable (or {name}_FILE, or the Docker secret /run/secrets/{name.lower()})."
        )


def _read_file(path):
    return Path(path).read_text(encoding="utf-8").strip()


def secret(name, default=None):
    """Return a secret from ``NAME``, the file named by ``NAME_FILE`` or a Docker secret."""
    value = config(name, default=None)
    if value:
        return value
    file_name = config(f"{name}_FILE", default=None)
    if file_name:
        return _read_file(file_name)
    docker_secret = SECRETS_DIR / name.lower()
    if docker_secret.is_file():
        return _read_file(docker_secret)
    return default


def required(name, cast=str):
    """Return a variable (or secret) that production cannot run without."""
    value = secret(name)
    if value in (None, ""):
        raise MissingSetting(name)
    return cast(value)


_CERT_REQS = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}


def one_of(name, choices, default):
    """The variable ``name``, which must be one of ``choices``; stops with the choices otherwise."""
    value = config(name, default=default)
    if value not in choices:
        raise SystemExit(f"educa: {name} must be one of {', '.join(choices)}, got {value!r}.")
    return value


def _redis_scheme(parts):
    if parts.scheme not in ("redis", "rediss"):
        raise SystemExit(f"educa: REDIS_URL must start with redis:// or rediss://, got {parts.scheme!r}.")


def split_redis_credentials(url, password=None):
    """Return ``(url, credentials)``: ``url`` without a user name or password, and those as client options.

    The Redis URLs end up in settings, and Django prints settings in full in
    ``diffsettings`` and in the error reports it e-mails to ADMINS, where it
    masks a value only under a name that looks secret (``PASSWORD``, ``KEY``
    ...): a password inside a URL would go out as it is. So the password
    travels as the redis-py client option ``password``, next to the URL.

    ``password`` is REDIS_PASSWORD. Credentials an operator wrote into the URL
    itself (``redis://user:pw@host``, or ``?password=`` which redis-py reads
    too) are taken out of it into the options, decoded as redis-py would
    decode them; a password there wins over REDIS_PASSWORD, and a user name
    is kept for a Redis ACL user.
    """
    parts = urlsplit(url)
    _redis_scheme(parts)
    credentials = {"password": password} if password else {}
    kept, from_query = [], {}
    for item in parts.query.split("&") if parts.query else ():
        name, _, value = item.partition("=")
        name = unquote_plus(name)
        if name not in ("username", "password"):
            kept.append(item)
        elif value and name not in from_query:  # redis-py takes the first value given
            from_query[name] = unquote_plus(value)
    credentials.update(from_query)
    user_info, at, host = parts.netloc.rpartition("@")
    if at:
        username, _, url_password = user_info.partition(":")
        if username:
            credentials["username"] = unquote(username)
        if url_password:
            credentials["password"] = unquote(url_password)
    return urlunsplit((parts.scheme, host, parts.path, "&".join(kept), parts.fragment)), credentials


def redis_url(base_url, db):
    """Point ``base_url`` (without credentials, see split_redis_credentials) at database ``db``.

    The cache and the channel layer share one Redis server but never a database,
    so flushing the cache cannot drop chat messages in flight.
    """
    parts = urlsplit(base_url)
    _redis_scheme(parts)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


def redis_connection_kwargs(url, cert_reqs="required", ca_certs=None, timeout=5.0):
    """Connection options shared by the cache and the channel layer.

    Timeouts keep a dead Redis from hanging a request. For ``rediss://`` the
    server certificate is verified unless the operator says otherwise.
    """
    kwargs = {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "health_check_interval": 30,
    }
    if urlsplit(url).scheme == "rediss":
        if cert_reqs not in _CERT_REQS:
            raise SystemExit(
                f"educa: REDIS_SSL_CERT_REQS must be one of {', '.join(_CERT_REQS)}, got {cert_reqs!r}."
            )
        kwargs["ssl_cert_reqs"] = cert_reqs
        # Hostname checks only make sense when the certificate is verified at all.
        kwargs["ssl_check_hostname"] = cert_reqs == "required"
        if ca_certs:
            kwargs["ssl_ca_certs"] = ca_certs
    return kwargs
