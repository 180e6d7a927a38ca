"""The certificate scripts refuse a configuration that cannot work, naming what to change.

They run here as they run in their containers, under POSIX sh, with openssl
making the certificates; the stack layer (tests/stack/test_certificates.py)
runs them for real against Pebble and an operator's files.
"""

import os
import re
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
    # the line's UTC time and level first, like every service's lines
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ERROR educa-acme: ", result.stderr), result.stderr


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
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ERROR ", result.stderr), result.stderr


# --- NGINX: the certificate of the stack's own CA ---------------------------------------


def first_start(directory, domain):
    """Run the entrypoint's certificate step in self-signed mode on ``directory``."""
    # the stapling step writes NGINX's configuration: a stand-in answers instead
    helpers = directory / "helpers"
    helpers.mkdir(exist_ok=True)
    stand_in = helpers / "educa-ocsp-stapling"
    stand_in.write_text("#!/bin/sh\necho none\n")
    stand_in.chmod(0o755)
    certs = directory / "certs"
    certs.mkdir(exist_ok=True)
    environment = {"PATH": f"{helpers}{os.pathsep}{os.environ['PATH']}", "SITE_DOMAIN": domain,
                   "NGINX_CERTIFICATE_DIR": str(certs), "CERTIFICATE_MODE": "self-signed"}  # fmt: skip
    result = subprocess.run(
        [SHELL, str(CERTIFICATE)], capture_output=True, text=True, timeout=60, env=environment
    )
    assert result.returncode == 0, result.stderr
    return certs


def certificate(path):
    from cryptography import x509

    return x509.load_pem_x509_certificate(path.read_bytes())


def openssl_verify(ca, cert, name):
    return subprocess.run(
        ["openssl", "verify", "-CAfile", str(ca), "-verify_hostname", name, str(cert)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_the_first_start_serves_a_server_certificate_of_the_stacks_own_ca(tmp_path):
    from cryptography import x509

    certs = first_start(tmp_path, "educa.test")
    ca, leaf = certificate(certs / "local-ca.pem"), certificate(certs / "fullchain.pem")
    assert leaf.issuer == ca.subject
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert leaf.serial_number > 0 and ca.serial_number > 0
    permitted = ca.extensions.get_extension_for_class(x509.NameConstraints).value.permitted_subtrees
    assert {name.value for name in permitted if isinstance(name, x509.DNSName)} == {"educa.test", "localhost"}
    assert (certs / ".local-ca.key").stat().st_mode & 0o077 == 0, "the CA's key is readable by others"
    for name in ("educa.test", "www.educa.test", "localhost"):
        assert openssl_verify(certs / "local-ca.pem", certs / "fullchain.pem", name).returncode == 0, name


def test_the_stacks_own_ca_cannot_vouch_for_another_site(tmp_path):
    """Its name constraints: a certificate it signs for another name does not verify."""
    certs = first_start(tmp_path, "educa.test")
    request, forged, key = tmp_path / "forged.csr", tmp_path / "forged.pem", tmp_path / "forged.key"
    subprocess.run(
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-subj", "/CN=bank.example", "-keyout", str(key), "-out", str(request)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    extensions = tmp_path / "forged.ext"
    extensions.write_text("subjectAltName=DNS:bank.example\nbasicConstraints=critical,CA:FALSE\n")
    subprocess.run(
        ["openssl", "x509", "-req", "-in", str(request), "-CA", str(certs / "local-ca.pem"),
         "-CAkey", str(certs / ".local-ca.key"), "-days", "30", "-extfile", str(extensions),
         "-out", str(forged)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    result = openssl_verify(certs / "local-ca.pem", forged, "bank.example")
    assert result.returncode != 0
    assert "permitted subtree violation" in result.stdout + result.stderr


def test_a_new_certificate_keeps_the_ca_and_a_new_domain_gets_a_new_one(tmp_path):
    """Visitors trust the CA once: renewing the certificate keeps it; another SITE_DOMAIN,
    which its constraints do not allow, makes a new CA."""
    certs = first_start(tmp_path, "educa.test")
    ca_serial = certificate(certs / "local-ca.pem").serial_number
    leaf_serial = certificate(certs / "fullchain.pem").serial_number
    (certs / "fullchain.pem").unlink()
    first_start(tmp_path, "educa.test")
    assert certificate(certs / "fullchain.pem").serial_number != leaf_serial
    assert certificate(certs / "local-ca.pem").serial_number == ca_serial
    first_start(tmp_path, "educa.example")
    assert certificate(certs / "local-ca.pem").serial_number != ca_serial
    assert openssl_verify(certs / "local-ca.pem", certs / "fullchain.pem", "educa.example").returncode == 0
