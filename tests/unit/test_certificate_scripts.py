"""The certificate scripts refuse a configuration that cannot work, naming what to change.

They run here as they run in their containers, under POSIX sh, with openssl
making the certificates; the stack layer (tests/stack/test_certificates.py)
runs them for real against Pebble and an operator's files.
"""

import os
import shutil
import subprocess

import pytest

from tests.support.system import REPO

pytestmark = pytest.mark.unit

SHELL = shutil.which("dash") or "/bin/sh"
ACME = REPO / "config/acme/educa-acme"
CERTIFICATE = REPO / "config/nginx/docker-entrypoint.d/40-educa-certificate.sh"
WATCH = REPO / "config/nginx/docker-entrypoint.d/50-educa-certificate-watch.sh"
STAPLING = REPO / "config/nginx/bin/educa-ocsp-stapling"


def run(script, *args, **env):
    # the image's helpers (config/nginx/bin) are on NGINX's PATH too
    path = f"{REPO / 'config/nginx/bin'}{os.pathsep}{os.environ['PATH']}"
    environment = {"PATH": path, **{key: str(value) for key, value in env.items()}}
    return subprocess.run(
        [SHELL, str(script), *args], capture_output=True, text=True, timeout=30, env=environment
    )


def make_certificate(directory, name="educa.test", ocsp=None, key_name="privkey.pem"):
    """fullchain.pem (self-signed for ``name``) and its key in ``directory``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "fullchain.pem", directory / key_name
    extensions = ["-addext", f"subjectAltName=DNS:{name}"]
    if ocsp:
        extensions += ["-addext", f"authorityInfoAccess=OCSP;URI:{ocsp}"]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "30", "-subj", f"/CN={name}", *extensions,
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


# --- educa-acme ---------------------------------------------------------------------


def test_an_unknown_certificate_mode_is_refused_by_name():
    result = run(ACME, "run", CERTIFICATE_MODE="letsencrypt", SITE_DOMAIN="educa.test")
    assert result.returncode == 1
    assert "CERTIFICATE_MODE must be self-signed, acme or files, got 'letsencrypt'" in result.stderr


def test_acme_mode_without_a_contact_address_names_acme_email():
    result = run(ACME, "run", CERTIFICATE_MODE="acme", SITE_DOMAIN="educa.test")
    assert result.returncode == 1
    assert "ACME_EMAIL is required in CERTIFICATE_MODE=acme" in result.stderr


def test_an_acme_directory_that_is_not_https_is_refused():
    result = run(
        ACME,
        "run",
        CERTIFICATE_MODE="acme",
        SITE_DOMAIN="educa.test",
        ACME_EMAIL="ops@educa.test",
        ACME_DIRECTORY_URL="http://ca.example/directory",
    )
    assert result.returncode == 1
    assert "ACME_DIRECTORY_URL must be an https:// URL" in result.stderr


def test_a_retry_interval_that_is_not_a_number_is_refused_by_name():
    result = run(
        ACME, "run", CERTIFICATE_MODE="acme", SITE_DOMAIN="educa.test", ACME_EMAIL="ops@educa.test",
        ACME_RETRY_MIN="1m",
    )  # fmt: skip
    assert result.returncode == 1
    assert "ACME_RETRY_MIN must be a whole number of seconds, got '1m'" in result.stderr


def test_renewing_outside_acme_mode_says_why_not():
    result = run(ACME, "renew", "--force", CERTIFICATE_MODE="self-signed", SITE_DOMAIN="educa.test")
    assert result.returncode == 1
    assert "CERTIFICATE_MODE is self-signed" in result.stderr


# --- NGINX: the operator's own files ------------------------------------------------


def files_mode(directory):
    return run(
        CERTIFICATE, CERTIFICATE_MODE="files", NGINX_CERTIFICATE_DIR=directory, SITE_DOMAIN="educa.test"
    )


def test_files_mode_without_a_key_names_certificate_files_dir(tmp_path):
    make_certificate(tmp_path, key_name="other.pem")
    result = files_mode(tmp_path)
    assert result.returncode == 1
    assert "privkey.pem is missing from CERTIFICATE_FILES_DIR" in result.stderr
    assert "set CERTIFICATE_FILES_DIR in .env" in result.stderr


def other_key(directory):
    _, key = make_certificate(directory / "other")
    shutil.copy(key, directory / "privkey.pem")


def not_a_certificate(directory):
    (directory / "fullchain.pem").write_text("not a certificate\n")


@pytest.mark.parametrize(
    ("spoil", "problem"),
    [
        (
            other_key,
            "privkey.pem in CERTIFICATE_FILES_DIR (mounted at {dir}) is not the key of fullchain.pem",
        ),
        (
            not_a_certificate,
            "fullchain.pem in CERTIFICATE_FILES_DIR (mounted at {dir}) is not a PEM certificate",
        ),
    ],
    ids=["key-of-another-certificate", "not-a-certificate"],
)
def test_files_mode_refuses_files_that_do_not_belong_together(tmp_path, spoil, problem):
    make_certificate(tmp_path)
    spoil(tmp_path)
    result = files_mode(tmp_path)
    assert result.returncode == 1
    assert problem.format(dir=tmp_path) in result.stderr


# --- NGINX: OCSP stapling and the watcher -----------------------------------------------


def test_stapling_is_on_when_the_certificate_names_a_responder(tmp_path):
    cert, _ = make_certificate(tmp_path, ocsp="http://ocsp.educa.test:8888")
    out = tmp_path / "ocsp-stapling.conf"
    result = run(STAPLING, cert, out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://ocsp.educa.test:8888"
    config = out.read_text()
    assert "ssl_stapling on;" in config
    assert "ssl_stapling_verify on;" in config
    assert f"ssl_trusted_certificate {cert};" in config


def test_stapling_stays_off_for_a_certificate_without_a_responder(tmp_path):
    cert, _ = make_certificate(tmp_path)
    out = tmp_path / "ocsp-stapling.conf"
    result = run(STAPLING, cert, out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "none"
    assert "ssl_stapling on" not in out.read_text()


def test_the_watcher_refuses_an_interval_that_is_not_a_number():
    result = run(WATCH, CERTIFICATE_WATCH_INTERVAL="soon")
    assert result.returncode == 1
    assert "CERTIFICATE_WATCH_INTERVAL must be a whole number of seconds" in result.stderr
