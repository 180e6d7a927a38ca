"""Certificates as a client sees them, and Pebble, Let's Encrypt's test CA, beside a test stack.

Pebble runs as a container of the test's own on the stack's network, under
the name ``pebble``: the stack's acme service asks it for a certificate at
``https://pebble:14000/dir`` and Pebble validates the HTTP-01 challenge by
connecting to the site's domain on that network, which the overlay
``OVERLAY`` gives to NGINX. Pebble's own HTTPS certificate comes from a CA
made here (``Pebble.tls_ca``), which the acme service trusts through
ACME_CA_BUNDLE: nothing is verified less than in production.

Pebble makes a new root CA every time it starts; ``Pebble.root()`` fetches it
from its management port, published on 127.0.0.1 only. It is the trust
anchor the tests verify the served chain with, and the only one.
"""

import json
import os
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import requests

from .stack import CONTAINER_LABEL, OWNER_LABEL
from .system import REPO, build_test_image, free_port, wait_until

PEBBLE_DIR = Path(__file__).with_name("pebble")
PEBBLE_IMAGE = "educa-test/pebble:latest"
# the compose overlay, relative to the checkout like docker-compose.yml
OVERLAY = str(PEBBLE_DIR.relative_to(REPO) / "stack.compose.yml")
DIRECTORY_URL = "https://pebble:14000/dir"
SECOND_NAME = "pebble-production"
SECOND_DIRECTORY_URL = f"https://{SECOND_NAME}:14000/dir"
# where the overlay mounts the CA of Pebble's HTTPS certificate in the acme container
ACME_CA_BUNDLE = "/etc/educa/acme-ca.pem"


def build_pebble_image():
    """Build the Pebble image from Debian's package."""
    build_test_image(PEBBLE_IMAGE, PEBBLE_DIR)


@dataclass
class Pebble:
    """A Pebble container for one stack: configuration, its HTTPS CA, and its lifetime."""

    workdir: Path
    name: str
    tls_ca: Path = field(init=False)
    management_port: int = field(init=False)

    def __post_init__(self):
        import trustme

        self.config_dir = self.workdir / "pebble"
        self.config_dir.mkdir()
        ca = trustme.CA()
        # a second name stands for a second CA (staging, then production)
        server = ca.issue_cert("pebble", SECOND_NAME, "localhost")
        self.tls_ca = self.workdir / "pebble-tls-ca.pem"
        ca.cert_pem.write_to_path(str(self.tls_ca))
        server.private_key_pem.write_to_path(str(self.config_dir / "key.pem"))
        with open(self.config_dir / "cert.pem", "wb") as chain:
            for pem in server.cert_chain_pems:
                chain.write(pem.bytes())
        config = {
            "pebble": {
                "listenAddress": "0.0.0.0:14000",
                "managementListenAddress": "0.0.0.0:15000",
                "certificate": "/config/cert.pem",
                "privateKey": "/config/key.pem",
                # NGINX's HTTP port inside its container
                "httpPort": 8080,
                "tlsPort": 8443,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        (self.config_dir / "pebble.json").write_text(json.dumps(config, indent=2))
        # Pebble runs as nobody; these files are the test's throwaways
        self.config_dir.chmod(0o755)
        for path in (*self.config_dir.iterdir(), self.tls_ca):
            path.chmod(0o644)
        self.management_port = free_port()

    def start(self, network):
        """Run Pebble on ``network`` as ``pebble``; return once its directory answers."""
        run_peer(
            self.name, network, ("pebble", SECOND_NAME), PEBBLE_IMAGE,
            "-p", f"127.0.0.1:{self.management_port}:15000",
            # no random validation delays, and no deliberately rejected
            # nonces: the run is as fast and as repeatable as it can be
            "-e", "PEBBLE_VA_NOSLEEP=1", "-e", "PEBBLE_WFE_NONCEREJECT=0",
            "-v", f"{self.config_dir}:/config:ro",
        )  # fmt: skip
        wait_until(self.root, 60, f"Pebble's management port answering\n{self.logs()}")

    def root(self):
        """PEM of the root CA this Pebble issues under (new at every start)."""
        answer = requests.get(
            f"https://localhost:{self.management_port}/roots/0", verify=str(self.tls_ca), timeout=5
        )
        answer.raise_for_status()
        return answer.text

    def write_root(self, path):
        Path(path).write_text(self.root())
        return Path(path)

    def logs(self):
        result = subprocess.run(["docker", "logs", "--tail", "60", self.name], capture_output=True, text=True)
        return result.stdout + result.stderr

    def remove(self):
        remove_peer(self.name)


def run_peer(name, network, aliases, image, *options_and_command):
    """``docker run -d`` a peer of a stack on its ``network``, known there by ``aliases``.

    Labelled like the integration layer's containers, so a killed run's
    leftovers are removed by ``remove_leftovers``. Remove it (``remove_peer``)
    before the stack: its network cannot go while a peer is attached.
    ``options_and_command``: more ``docker run`` options, the image's command after ``--``.
    """
    remove_peer(name)
    split = options_and_command.index("--") if "--" in options_and_command else len(options_and_command)
    options, command = options_and_command[:split], options_and_command[split + 1 :]
    subprocess.run(
        [
            "docker", "run", "-d", "--name", name,
            "--label", CONTAINER_LABEL, "--label", f"{OWNER_LABEL}={os.getpid()}",
            "--network", network, *(f"--network-alias={alias}" for alias in aliases),
            *options, image, *command,
        ],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def remove_peer(name):
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


# --- what a client is served ------------------------------------------------------


def served_certificate(port, server_name):
    """The leaf certificate served on 127.0.0.1:``port`` for ``server_name``, as a cryptography object.

    Fetched without verifying it: this is how the tests look at *which*
    certificate is served; whether it is trusted is ``verify_chain``'s job.
    """
    from cryptography import x509

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der)


def s_client(port, server_name, ca_file, *options):
    """``openssl s_client`` to 127.0.0.1:``port`` for ``server_name``, trusting ``ca_file`` only.

    The system's CAs are left out (``-no-CApath -no-CAstore``; ``-CAfile``
    replaces the default file). Returns (exit status, everything printed).
    """
    result = subprocess.run(
        [
            "openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", server_name,
            "-no-CApath", "-no-CAstore", "-CAfile", str(ca_file), *options,
        ],
        input="", capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


def verify_chain(port, server_name, ca_file):
    """Whether the served chain leads to ``ca_file`` and names ``server_name``; return (ok, output)."""
    status, output = s_client(
        port, server_name, ca_file, "-verify_hostname", server_name, "-verify_return_error", "-showcerts"
    )
    return status == 0 and "Verify return code: 0 (ok)" in output, output


# --- an OCSP responder ------------------------------------------------------------


def write_ocsp_ca_files(directory, name, responder_url):
    """A CA, and a certificate for ``name`` naming ``responder_url`` as its OCSP responder.

    Writes ca.pem, ca.key, fullchain.pem (the certificate, then the CA),
    privkey.pem and index.txt (the CA's database, in the format of
    ``openssl ca``, with the certificate valid); returns the directory.
    """
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "educa test OCSP CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=10))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(responder_url)
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    unencrypted = serialization.NoEncryption()
    key_format = serialization.PrivateFormat.PKCS8
    directory = Path(directory)
    directory.mkdir(exist_ok=True)
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "ca.key").write_bytes(ca_key.private_bytes(pem, key_format, unencrypted))
    (directory / "fullchain.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (directory / "privkey.pem").write_bytes(key.private_bytes(pem, key_format, unencrypted))
    expiry = leaf.not_valid_after_utc.strftime("%y%m%d%H%M%SZ")
    (directory / "index.txt").write_text(f"V\t{expiry}\t\t{leaf.serial_number:X}\tunknown\t/CN={name}\n")
    # read by NGINX (uid 101) and by the responder; throwaway test keys
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)
    return directory


def start_ocsp_responder(name, image, network, alias, directory, port=8888):
    """``openssl ocsp`` answering for the CA in ``directory``, as ``alias`` on ``network``."""
    run_peer(
        name, network, (alias,), image, "-v", f"{directory}:/ca:ro", "--entrypoint", "openssl", "--",
        "ocsp", "-port", str(port), "-index", "/ca/index.txt", "-CA", "/ca/ca.pem",
        "-rsigner", "/ca/ca.pem", "-rkey", "/ca/ca.key", "-nmin", "60", "-ignore_err",
    )  # fmt: skip


def stapled_ocsp(port, server_name, ca_file):
    """What ``openssl s_client -status`` shows of the OCSP response stapled to the handshake."""
    return s_client(port, server_name, ca_file, "-status")[1]
