"""Certificates with no hands: ACME against Pebble, Let's Encrypt's test CA, and an operator's own files.

This module boots a stack of its own for ``educa.test``, a name only this
test process resolves (to 127.0.0.1, ``system.resolving``); on the stack's
network Docker's DNS gives it to NGINX, where Pebble validates the HTTP-01
challenges. The stack starts in CERTIFICATE_MODE=acme while Pebble is not
running yet, as after a CA outage at first start; the tests then run in
order: the site up on its own CA's certificate while the acme service
retries, Pebble started and the certificate arriving, a forced renewal under
load, another CA, and finally the same stack switched to CERTIFICATE_MODE=files.
"""

import os
import secrets
import threading
import time
from http.client import RemoteDisconnected
from types import SimpleNamespace

import pytest
import requests
from urllib3.exceptions import ProtocolError

from tests.support.acme import (
    ACME_CA_BUNDLE,
    DIRECTORY_URL,
    OVERLAY,
    SECOND_DIRECTORY_URL,
    Pebble,
    build_pebble_image,
    remove_peer,
    served_certificate,
    stapled_ocsp,
    start_ocsp_responder,
    verify_chain,
    write_ocsp_ca_files,
)
from tests.support.journeys import enrolled_student, load_demo_courses, say
from tests.support.stack import boot_stack
from tests.support.system import resolving, wait_until

pytestmark = pytest.mark.stack

DOMAIN = "educa.test"
NGINX_UID = 101


@pytest.fixture(scope="module")
def acme(tmp_path_factory):
    """The stack in acme mode (with Pebble not yet running) and its Pebble, as a namespace.

    ``educa.test`` resolves to 127.0.0.1 for the whole module.
    """
    workdir = tmp_path_factory.mktemp("acme-stack")
    build_pebble_image()
    pebble = Pebble(workdir, f"educa-test-pebble-{os.getpid()}-{secrets.token_hex(3)}")
    stack = None
    with resolving(DOMAIN):
        try:
            stack = boot_stack(
                workdir,
                compose_files=("docker-compose.yml", OVERLAY),
                host=DOMAIN,
                SITE_DOMAIN=DOMAIN,
                ALLOWED_HOSTS=DOMAIN,
                CERTIFICATE_MODE="acme",
                ACME_EMAIL=f"operator@{DOMAIN}",
                ACME_DIRECTORY_URL=DIRECTORY_URL,
                ACME_CA_BUNDLE=ACME_CA_BUNDLE,
                ACME_RETRY_MIN=2,
                ACME_RETRY_MAX=5,
                CERTIFICATE_WATCH_INTERVAL=1,
                PEBBLE_TLS_CA=pebble.tls_ca,
            )
            load_demo_courses(stack)
            yield SimpleNamespace(stack=stack, pebble=pebble, workdir=workdir)
        finally:
            # Pebble first: the stack's network cannot go while it is attached
            pebble.remove()
            if stack is not None:
                stack.remove()


def closed_before_answering(error):
    """Whether the server closed the connection without a byte of an answer (``RemoteDisconnected``)."""
    reason = error.args[0] if error.args else None
    if not isinstance(reason, ProtocolError):
        return False
    return any(isinstance(arg, RemoteDisconnected) for arg in reason.args)


class Load:
    """Pages requested one after another in a thread, every answer kept, until stopped.

    Like a browser, a GET sent on a kept-alive connection that the server
    closed at that very moment, before answering anything, is sent once more
    on a new connection (RFC 9112, 9.3.1): a reload closes the old workers'
    idle connections, and that race is part of HTTP/1.1, not a lost request.
    Those resends are counted in ``resent``; anything else (an error on the
    resend, a timeout, a status other than 200) is a failure.
    """

    def __init__(self, stack, path="/"):
        self.client = stack.client()
        self.path = path
        self.answers = []
        self.failures = []
        self.resent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _get(self):
        try:
            return self.client.get(self.path, timeout=10).status_code
        except requests.ConnectionError as error:
            if not closed_before_answering(error):
                raise
        self.resent += 1
        return self.client.get(self.path, timeout=10).status_code

    def _run(self):
        while not self._stop.is_set():
            try:
                status = self._get()
                self.answers.append(status)
                if status != 200:
                    self.failures.append(status)
            except requests.RequestException as error:
                self.failures.append(repr(error))
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)
        self.client.close()


def wait_for_new_serial(stack, old_serial, timeout=90):
    # three handshakes in a row: NGINX's old workers may take one during the reload
    def changed():
        return all(served_certificate(stack.https_port, DOMAIN).serial_number != old_serial for _ in range(3))

    return wait_until(changed, timeout, f"a new certificate served\n{stack.logs('acme', 'nginx')}")


def test_until_the_ca_answers_the_site_serves_its_self_signed_certificate(acme):
    stack = acme.stack
    served = served_certificate(stack.https_port, DOMAIN)
    assert "educa local CA" in served.issuer.rfc4514_string(), (
        "the first start serves the certificate of the stack's own CA"
    )
    ok, output = verify_chain(stack.https_port, DOMAIN, stack.ca_file)
    assert ok, output
    with stack.client() as client:
        assert client.get("/", timeout=30).status_code == 200
    # the acme service keeps trying, and says so
    wait_until(
        lambda: "next try in" in stack.logs("acme", tail=200),
        60,
        "the acme service logging its retry while the CA is down",
    )


def test_the_certificate_arrives_once_the_ca_is_back_and_its_chain_verifies(acme):
    stack, pebble = acme.stack, acme.pebble
    own_ca = stack.ca_file
    pebble.start(f"{stack.project}_default")
    root = pebble.write_root(acme.workdir / "pebble-root.pem")

    # During NGINX's graceful reload the old workers may still take a
    # connection or two with the old certificate: served means served on
    # three handshakes in a row.
    took = wait_until(
        lambda: all(verify_chain(stack.https_port, DOMAIN, root)[0] for _ in range(3)),
        120,
        f"a certificate from Pebble served\n{stack.logs('acme', 'nginx')}\n{pebble.logs()}",
        pause=1,
    )
    print(f"\ncertificate from Pebble served {took:.1f}s after the CA came back")

    ok, output = verify_chain(stack.https_port, DOMAIN, root)
    assert ok, output
    # the chain leads to Pebble's root through its intermediate, both served
    assert output.count("BEGIN CERTIFICATE") == 2, output
    served = served_certificate(stack.https_port, DOMAIN)
    assert "educa local CA" not in served.issuer.rfc4514_string()
    # the stack's own CA no longer verifies what is served
    assert not verify_chain(stack.https_port, DOMAIN, own_ca)[0]
    # and a client that trusts Pebble's root alone uses the site
    stack.ca_file = root
    with stack.client() as client:
        assert client.get("/", timeout=30).status_code == 200
    assert "installed the certificate for educa.test" in stack.logs("acme", tail=200)
    # Pebble's certificates name no OCSP responder (like Let's Encrypt's since
    # 2025): nothing is stapled, and NGINX is not asked to try
    assert "OCSP response: no response sent" in stapled_ocsp(stack.https_port, DOMAIN, root)


def test_a_renewal_is_served_without_dropping_a_request_or_a_websocket(acme):
    stack = acme.stack
    before = served_certificate(stack.https_port, DOMAIN).serial_number
    _, alice, course = enrolled_student(stack, "alice")
    _, bob, _ = enrolled_student(stack, "bob")
    with stack.chat(course, alice) as alice_socket, stack.chat(course, bob) as bob_socket:
        say(alice_socket, "before the renewal", bob_socket)
        with Load(stack) as load:
            time.sleep(1)
            started = time.monotonic()
            stack.exec("acme", "educa-acme", "renew", "--force")
            took = wait_for_new_serial(stack, before)
            time.sleep(2)  # and requests go on after the reload
        # the sockets opened before the reload still carry the room
        say(bob_socket, "after the renewal", alice_socket)

    print(
        f"\nforced renewal: new serial served {time.monotonic() - started:.1f}s after the command "
        f"(watcher {took:.1f}s); {len(load.answers)} requests during it, failures: {load.failures}, "
        f"resent after a closed idle connection: {load.resent}"
    )
    assert load.failures == []
    assert len(load.answers) >= 20
    assert served_certificate(stack.https_port, DOMAIN).serial_number != before
    assert verify_chain(stack.https_port, DOMAIN, stack.ca_file)[0]
    assert "NGINX reloaded" in stack.logs("nginx", tail=200)


def test_another_ca_issues_a_new_certificate_at_once(acme):
    """From staging to production: a certificate from the old CA is not kept until it is due."""
    stack = acme.stack
    before = served_certificate(stack.https_port, DOMAIN).serial_number
    stack.env["ACME_DIRECTORY_URL"] = SECOND_DIRECTORY_URL
    stack.write_env()
    stack.compose("up", "-d", "--no-deps", "--wait", "acme")
    wait_for_new_serial(stack, before)
    assert verify_chain(stack.https_port, DOMAIN, stack.ca_file)[0]
    assert f"from {SECOND_DIRECTORY_URL}" in stack.logs("acme", tail=100)


def write_own_files(directory, ca):
    """fullchain.pem and privkey.pem for DOMAIN from ``ca``, replaced as an operator's renewal would."""
    certificate = ca.issue_cert(DOMAIN)
    directory.mkdir(exist_ok=True)
    directory.chmod(0o755)
    key_new, cert_new = directory / ".privkey.new", directory / ".fullchain.new"
    certificate.private_key_pem.write_to_path(str(key_new))
    with open(cert_new, "wb") as chain:
        for pem in certificate.cert_chain_pems:
            chain.write(pem.bytes())
    cert_new.chmod(0o644)
    if os.geteuid() == 0:
        os.chown(key_new, NGINX_UID, NGINX_UID)
        key_new.chmod(0o600)
    else:  # cannot give it away: let everyone read this throwaway key instead
        key_new.chmod(0o644)
    key_new.replace(directory / "privkey.pem")
    cert_new.replace(directory / "fullchain.pem")


def test_an_operators_own_files_are_served_and_their_renewal_is_picked_up(acme):
    import trustme

    stack = acme.stack
    ca = trustme.CA()
    own = acme.workdir / "own-certificate"
    write_own_files(own, ca)
    ca_file = acme.workdir / "own-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    stack.env.update(CERTIFICATE_MODE="files", CERTIFICATE_FILES_DIR=str(own))
    stack.write_env()
    stack.compose("up", "-d", "--no-deps", "--wait", "nginx")
    ok, output = verify_chain(stack.https_port, DOMAIN, ca_file)
    assert ok, output
    assert "using the certificate in CERTIFICATE_FILES_DIR" in stack.logs("nginx", tail=100)

    stack.ca_file = ca_file
    before = served_certificate(stack.https_port, DOMAIN).serial_number
    with Load(stack) as load:
        time.sleep(1)
        write_own_files(own, ca)
        wait_for_new_serial(stack, before, timeout=60)
        time.sleep(2)
    print(f"\nown files replaced: failures {load.failures}, resent on closed idle connections: {load.resent}")
    assert load.failures == []
    assert len(load.answers) >= 20
    assert verify_chain(stack.https_port, DOMAIN, ca_file)[0]


def test_ocsp_responses_are_stapled_when_the_certificate_names_a_responder(acme):
    """A certificate with an OCSP responder (from a CA of the test's, answered by ``openssl ocsp``)."""
    stack = acme.stack
    responder = f"http://ocsp.{DOMAIN}:8888"
    ca_dir = write_ocsp_ca_files(acme.workdir / "ocsp-ca", DOMAIN, responder)
    container = f"{stack.project}-ocsp"
    image = next(container["Image"] for container in stack.containers() if container["Service"] == "nginx")
    start_ocsp_responder(container, image, f"{stack.project}_default", f"ocsp.{DOMAIN}", ca_dir)
    try:
        stack.env.update(CERTIFICATE_MODE="files", CERTIFICATE_FILES_DIR=str(ca_dir))
        stack.write_env()
        stack.compose("up", "-d", "--no-deps", "--wait", "nginx")
        assert f"OCSP stapling on (responder {responder})" in stack.logs("nginx", tail=100)

        # NGINX fetches the response on a first handshake and staples it to later ones
        def stapled():
            shown = stapled_ocsp(stack.https_port, DOMAIN, ca_dir / "ca.pem")
            return "OCSP Response Status: successful" in shown and "Cert Status: good" in shown

        wait_until(stapled, 60, f"a good OCSP response stapled\n{stack.logs('nginx', tail=40)}", pause=1)
    finally:
        remove_peer(container)


def test_files_mode_without_the_files_names_the_variable_to_set(acme):
    stack = acme.stack
    empty = acme.workdir / "no-certificate"
    empty.mkdir()
    stack.env.update(CERTIFICATE_MODE="files", CERTIFICATE_FILES_DIR=str(empty))
    stack.write_env()
    result = stack.compose("run", "--rm", "--no-deps", "-T", "nginx", check=False, timeout=120)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "fullchain.pem is missing" in output and "set CERTIFICATE_FILES_DIR" in output, output
