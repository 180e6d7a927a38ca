"""The settings modules: required variables, Redis/TLS options, aliases always defined."""

import importlib
import ssl
import subprocess
import sys

import pytest

from tests.support.settings import PROD_ENV, clean_environment, load_prod
from tests.support.system import MANAGE, PROJECT_DIR

pytestmark = pytest.mark.unit

REQUIRED = [
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SITE_DOMAIN",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "REDIS_URL",
]


def run_manage(*args, env_overrides=None):
    env = clean_environment(**(PROD_ENV | (env_overrides or {})))
    return subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_DIR,
    )


def test_check_deploy_reports_no_issues():
    result = run_manage("check", "--deploy", "--fail-level", "DEBUG")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("name", REQUIRED)
def test_missing_required_variable_stops_with_one_line_naming_it(name):
    # An empty value counts as missing, and overrides any .env file lying around.
    result = run_manage("check", env_overrides={name: ""})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0]
    assert "Traceback" not in result.stderr


def test_secret_can_come_from_a_file(tmp_path, monkeypatch):
    secret_file = tmp_path / "secret_key"
    secret_file.write_text("from-a-file-" + "y" * 50 + "\n")
    prod = load_prod(monkeypatch, SECRET_KEY="", SECRET_KEY_FILE=str(secret_file))
    assert prod.SECRET_KEY == "from-a-file-" + "y" * 50


def redis_clients(prod):
    """The cache's OPTIONS and the channel layer's host, as the settings give them to the clients."""
    return prod.CACHES["default"]["OPTIONS"], prod.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]


def test_cache_and_channel_layer_use_separate_databases_and_the_password(monkeypatch):
    prod = load_prod(monkeypatch)
    cache_options, layer_host = redis_clients(prod)
    assert prod.CACHES["default"]["LOCATION"] == prod.REDIS_CACHE_URL == "redis://cache:6379/0"
    assert layer_host["address"] == prod.REDIS_CHANNEL_LAYER_URL == "redis://cache:6379/1"
    # The password is a client option (masked in error reports), never in a URL.
    assert cache_options["password"] == layer_host["password"] == "redis-password"
    assert "username" not in cache_options
    # Plain redis:// must not get TLS options (redis-py would reject them).
    assert "ssl_cert_reqs" not in cache_options
    # A dead Redis must not hang a request.
    assert cache_options["socket_timeout"] <= 5
    assert layer_host["socket_connect_timeout"] <= 5


def test_password_in_url_wins_over_redis_password(monkeypatch):
    prod = load_prod(monkeypatch, REDIS_URL="redis://:in-url@cache:6379")
    cache_options, layer_host = redis_clients(prod)
    assert prod.CACHES["default"]["LOCATION"] == "redis://cache:6379/0"
    assert layer_host["address"] == "redis://cache:6379/1"
    assert cache_options["password"] == layer_host["password"] == "in-url"


@pytest.mark.parametrize(
    "url",
    [
        "redis://educa%40acl:p%40ss%3Aw%2Frd@cache:6379",
        "redis://cache:6379?username=educa%40acl&password=p%40ss%3Aw%2Frd&health_check_interval=10",
        "rediss://educa%40acl:p%40ss%3Aw%2Frd@[::1]:6380/5?ssl_cert_reqs=none",
    ],
)
def test_credentials_in_the_url_move_to_the_options_as_redis_py_reads_them(monkeypatch, url):
    """The URL without credentials plus the options connect exactly as the URL alone would."""
    from redis import ConnectionPool

    prod = load_prod(monkeypatch, REDIS_URL=url)
    cache_options, layer_host = redis_clients(prod)
    for options in (cache_options, layer_host):
        assert options["username"] == "educa@acl"
        assert options["password"] == "p@ss:w/rd"
    for stored in (prod.REDIS_CACHE_URL, prod.REDIS_CHANNEL_LAYER_URL):
        assert "p%40ss" not in stored
        assert "educa%40acl" not in stored
        assert "@" not in stored

    as_given = ConnectionPool.from_url(url.replace("/5?", "?"), db=0).connection_kwargs
    as_stored = ConnectionPool.from_url(prod.REDIS_CACHE_URL, **cache_options).connection_kwargs
    for name in ("username", "password", "host", "port", "db", "connection_class", "ssl_cert_reqs"):
        assert as_stored.get(name) == as_given.get(name), name


def test_no_stored_url_carries_the_password(monkeypatch):
    prod = load_prod(monkeypatch, REDIS_URL="rediss://acl-user:url-password@cache:6380")
    cache_options, layer_host = redis_clients(prod)
    assert cache_options["password"] == layer_host["password"] == "url-password"
    for stored in (prod.CACHES["default"]["LOCATION"], layer_host["address"]):
        assert stored.startswith("rediss://cache:6380/")
    # Upper-case names are settings, even with a leading underscore: none keeps the credentials.
    leftovers = [name for name in dir(prod) if name.isupper() and "url-password" in repr(getattr(prod, name))]
    assert leftovers == ["CACHES", "CHANNEL_LAYERS"]


def test_rediss_verifies_the_certificate_by_default_for_cache_and_channel_layer(monkeypatch):
    prod = load_prod(monkeypatch, REDIS_URL="rediss://cache:6380", REDIS_SSL_CA_CERTS="/certs/ca.pem")
    cache_options = prod.CACHES["default"]["OPTIONS"]
    layer_host = prod.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    for options in (cache_options, layer_host):
        assert options["ssl_cert_reqs"] == "required"
        assert options["ssl_check_hostname"] is True
        assert options["ssl_ca_certs"] == "/certs/ca.pem"
    assert layer_host["address"].startswith("rediss://")


def test_rediss_verification_can_be_turned_off_explicitly(monkeypatch):
    prod = load_prod(monkeypatch, REDIS_URL="rediss://cache:6380", REDIS_SSL_CERT_REQS="none")
    options = prod.CACHES["default"]["OPTIONS"]
    assert options["ssl_cert_reqs"] == "none"
    assert options["ssl_check_hostname"] is False


def test_redis_options_are_accepted_by_redis_py(monkeypatch):
    """The option names must be ones the real client understands."""
    from redis import ConnectionPool

    prod = load_prod(monkeypatch, REDIS_URL="rediss://cache:6380", REDIS_SSL_CA_CERTS="/certs/ca.pem")
    pool = ConnectionPool.from_url(prod.CACHES["default"]["LOCATION"], **prod.CACHES["default"]["OPTIONS"])
    connection = pool.make_connection()
    assert connection.cert_reqs == ssl.CERT_REQUIRED
    assert connection.ca_certs == "/certs/ca.pem"
    assert connection.password == "redis-password"


def test_the_clients_receive_the_password(monkeypatch):
    """Django's RedisCache and the channel layer pass the options on to their connections."""
    from channels_redis.utils import create_pool
    from django.core.cache.backends.redis import RedisCache

    from chat.layers import PubSubChannelLayer

    prod = load_prod(monkeypatch, REDIS_URL="redis://acl-user@cache:6379")
    cache_settings = prod.CACHES["default"]
    cache = RedisCache(cache_settings["LOCATION"], cache_settings)
    cache_connection = cache._cache._get_connection_pool(write=True).make_connection()
    assert prod.CHANNEL_LAYERS["default"]["BACKEND"] == "chat.layers.PubSubChannelLayer"
    layer = PubSubChannelLayer(**prod.CHANNEL_LAYERS["default"]["CONFIG"])
    layer_connection = create_pool(layer.host).make_connection()
    for connection, db in ((cache_connection, 0), (layer_connection, 1)):
        assert connection.username == "acl-user"
        assert connection.password == "redis-password"
        assert (connection.host, connection.port, connection.db) == ("cache", 6379, db)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"REDIS_URL": "http://cache:6379"}, "REDIS_URL"),
        ({"REDIS_URL": "rediss://cache:6380", "REDIS_SSL_CERT_REQS": "maybe"}, "REDIS_SSL_CERT_REQS"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of plain, json, got 'xml'"),
    ],
)
def test_invalid_redis_configuration_names_the_variable(overrides, message):
    result = run_manage("check", env_overrides=overrides)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("module", ["local", "test", "prod"])
def test_default_cache_and_channel_layer_always_defined(module, monkeypatch):
    for name, value in PROD_ENV.items():
        monkeypatch.setenv(name, value)
    settings = importlib.import_module(f"educa.settings.{module}")
    assert "default" in settings.CACHES
    assert "default" in settings.CHANNEL_LAYERS


def test_local_settings_need_no_services():
    import educa.settings.local as local

    assert local.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert local.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    assert local.CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"


def test_collectstatic_needs_no_redis(tmp_path):
    """The one-shot deploy step may run before Redis is up."""
    result = run_manage(
        "collectstatic",
        "--noinput",
        "--dry-run",
        env_overrides={"REDIS_URL": "redis://127.0.0.1:1", "STATIC_ROOT": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr


def test_previous_keys_are_read_as_a_list_while_the_secret_key_is_rotated(monkeypatch):
    """tests/stack/test_secret_rotation.py shows a session surviving the rotation with them."""
    prod = load_prod(monkeypatch, SECRET_KEY_FALLBACKS=" old-key-" + "1" * 40 + " , old-key-" + "2" * 40)
    assert prod.SECRET_KEY_FALLBACKS == ["old-key-" + "1" * 40, "old-key-" + "2" * 40]
    assert load_prod(monkeypatch, SECRET_KEY_FALLBACKS="").SECRET_KEY_FALLBACKS == []
    assert load_prod(monkeypatch, unset=["SECRET_KEY_FALLBACKS"]).SECRET_KEY_FALLBACKS == []
