"""``manage.py doctor`` against real PostgreSQL and Redis: each misconfiguration explained in one line."""

import socket

import pytest

from tests.support.processes import BASE_PROD_ENV, manage

pytestmark = pytest.mark.integration


def doctor(env):
    result = manage(env, "doctor", check=False, timeout=120)
    return result.returncode, result.stdout + result.stderr


def failures(output):
    return [line.strip() for line in output.splitlines() if line.strip().startswith("FAIL")]


def test_a_healthy_configuration_passes_and_no_secret_is_printed(prod_env, migrated_database):
    status, output = doctor(prod_env)
    print(output)
    assert status == 0, output
    for check in ("ok    database", "ok    cache 'default'", "ok    channel layer"):
        assert check in output
    assert "Redis TLS        off (redis://)" in output
    for name in ("POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        assert prod_env[name] not in output, f"{name} printed"
    assert BASE_PROD_ENV["SECRET_KEY"] not in output
    assert output.count("password ********") >= 3  # the database, the cache, the channel layer


def test_a_wrong_database_password(prod_env, migrated_database):
    status, output = doctor({**prod_env, "POSTGRES_PASSWORD": "not-the-password"})
    assert status == 1
    [line] = failures(output)
    assert line.startswith(f"FAIL  database ({prod_env['POSTGRES_HOST']}): wrong password"), line


def test_a_wrong_redis_password(prod_env, migrated_database):
    status, output = doctor({**prod_env, "REDIS_PASSWORD": "not-the-password"})
    assert status == 1
    lines = failures(output)
    assert [line.split(":", 1)[0] for line in lines] == ["FAIL  cache 'default'", "FAIL  channel layer"]
    assert all(": wrong password" in line for line in lines), lines


def test_an_unknown_database_host(prod_env, migrated_database):
    status, output = doctor({**prod_env, "POSTGRES_HOST": "no-such-host.invalid"})
    assert status == 1
    [line] = failures(output)
    assert line.startswith("FAIL  database (no-such-host.invalid): unknown host"), line


def test_a_certificate_that_does_not_verify_names_the_ca_file(prod_env, redis_tls, tls_files):
    wrong_ca = str(tls_files["wrong_ca"])
    status, output = doctor({**prod_env, **redis_tls.env(REDIS_SSL_CA_CERTS=wrong_ca)})
    assert status == 1
    assert f"Redis TLS        on, certificate verified against {wrong_ca}" in output
    lines = [line for line in failures(output) if "cache 'default'" in line or "channel layer" in line]
    assert len(lines) == 2, output
    for line in lines:
        assert f"certificate verification failed against the CA in {wrong_ca}" in line, line


def test_a_redis_that_never_answers_times_out(prod_env, migrated_database):
    """A listener that accepts connections and never replies, like a frozen server."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as frozen:
        port = frozen.getsockname()[1]
        status, output = doctor({**prod_env, "REDIS_URL": f"redis://127.0.0.1:{port}", "REDIS_TIMEOUT": "1"})
    assert status == 1
    [line] = [line for line in failures(output) if "cache 'default'" in line]
    assert line.startswith("FAIL  cache 'default': timed out after 1.0 s"), line
