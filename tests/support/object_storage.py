"""S3-compatible object storage beside a test stack: moto's S3 server over HTTPS.

It runs as a container of the test's own (``s3/``: moto behind gunicorn), on
a network the test makes before the stack, under the name ``objectstore``.
The overlay ``OVERLAY`` makes that network the s3 network of
docker-compose.s3.yml, so db, backup and restore reach the storage as they
would reach a real one: HTTPS, path-style URLs, a certificate from a CA made
here that the stack is given through BACKUP_S3_CA_DIR. Nothing is verified
less than in production.

The container and the network carry the stack's project label, so the
stack's removal (and ``remove_leftovers``, after a killed run) takes them too.
"""

import json
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .acme import remove_peer, run_peer
from .stack import PROJECT_LABEL
from .system import REPO, build_test_image, wait_until

S3_DIR = Path(__file__).with_name("s3")
S3_IMAGE = "educa-test/s3:latest"
# the compose overlay, relative to the checkout like docker-compose.yml
OVERLAY = str(S3_DIR.relative_to(REPO) / "stack.compose.yml")
HOST = "objectstore"
PORT = 9000
BUCKET = "educa-backups"
# a client inside the storage's container, with the CA it serves under
CLIENT = (
    "import boto3, json;"
    "s3 = boto3.client('s3', endpoint_url='https://{host}:{port}', verify='/tls/ca.crt',"
    " aws_access_key_id='{key}', aws_secret_access_key='{secret}', region_name='us-east-1');"
)


def build_s3_image():
    build_test_image(S3_IMAGE, S3_DIR)


@dataclass
class ObjectStorage:
    """The storage container of one stack (project ``project``), its keys and its TLS files."""

    workdir: Path
    project: str
    key: str = field(default_factory=lambda: secrets.token_hex(10))
    secret: str = field(default_factory=lambda: secrets.token_hex(20))

    def __post_init__(self):
        import trustme

        self.name = f"{self.project}-objectstore"
        self.network = f"{self.project}-objectstore"
        self.tls_dir = self.workdir / "s3-tls"
        # BACKUP_S3_CA_DIR: the CA alone, as an operator would give it
        self.ca_dir = self.workdir / "s3-ca"
        for directory in (self.tls_dir, self.ca_dir):
            directory.mkdir()
            directory.chmod(0o755)
        ca = trustme.CA()
        server = ca.issue_cert(HOST)
        ca.cert_pem.write_to_path(str(self.tls_dir / "ca.crt"))
        ca.cert_pem.write_to_path(str(self.ca_dir / "ca.crt"))
        server.private_key_pem.write_to_path(str(self.tls_dir / "key.pem"))
        with open(self.tls_dir / "cert.pem", "wb") as chain:
            for pem in server.cert_chain_pems:
                chain.write(pem.bytes())
        # the server runs as nobody; these files are the test's throwaways
        for path in (*self.tls_dir.iterdir(), *self.ca_dir.iterdir()):
            path.chmod(0o644)

    def settings(self):
        """The .env values of docker-compose.s3.yml (and its test overlay) for this storage."""
        return {
            "BACKUP_S3_BUCKET": BUCKET,
            "BACKUP_S3_ENDPOINT": HOST,
            "BACKUP_S3_PORT": PORT,
            "BACKUP_S3_URI_STYLE": "path",
            "BACKUP_S3_KEY": self.key,
            "BACKUP_S3_KEY_SECRET": self.secret,
            "BACKUP_S3_CA_DIR": self.ca_dir,
            "BACKUP_S3_TEST_NETWORK": self.network,
        }

    def start(self):
        """Make the network, run the storage on it and create the bucket."""
        self.remove()
        label = f"{PROJECT_LABEL}={self.project}"
        subprocess.run(
            ["docker", "network", "create", "--label", label, self.network],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        volume = f"{self.tls_dir}:/tls:ro"
        run_peer(self.name, self.network, (HOST,), S3_IMAGE, "--label", label, "-v", volume)
        # a failing client call counts as "not yet": the server may still be starting
        create = f"s3.create_bucket(Bucket='{BUCKET}')"
        wait_until(lambda: self.client(create) is not None, 60, "the object storage answering", pause=1)

    def client(self, code):
        """Run ``code`` after CLIENT (``s3`` is a boto3 client) in the storage's container; its output."""
        script = CLIENT.format(host=HOST, port=PORT, key=self.key, secret=self.secret) + code
        result = subprocess.run(
            ["docker", "exec", self.name, "python", "-W", "ignore", "-c", script],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(f"the object storage's client failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def object_keys(self, prefix=""):
        """The object keys in the bucket under ``prefix``."""
        code = (
            f"pages = s3.get_paginator('list_objects_v2').paginate(Bucket='{BUCKET}', Prefix='{prefix}');"
            "print(json.dumps([o['Key'] for page in pages for o in page.get('Contents', [])]))"
        )
        return json.loads(self.client(code))

    def cut_off(self):
        """Take the storage off its network, as an outage of the provider or the route to it would."""
        subprocess.run(["docker", "network", "disconnect", self.network, self.name], check=True, timeout=60)

    def reconnect(self):
        subprocess.run(
            ["docker", "network", "connect", "--alias", HOST, self.network, self.name], check=True, timeout=60
        )

    def stop_answering(self):
        """Freeze the storage: connections are still accepted (by the kernel) but nothing is ever
        answered, as a provider that hangs or a route that drops packets silently would do.

        The engine's freezer fails now and then ("unable to freeze": a process
        of the container changed state while it was being frozen); it is
        tried again, and its error shown if it never succeeds.
        """

        def frozen():
            result = subprocess.run(
                ["docker", "pause", self.name], capture_output=True, text=True, timeout=60
            )
            assert result.returncode == 0, result.stderr.strip()
            return True

        wait_until(frozen, 30, f"{self.name} frozen", pause=1)

    def answer_again(self):
        subprocess.run(["docker", "unpause", self.name], check=True, capture_output=True, timeout=60)

    def logs(self):
        result = subprocess.run(["docker", "logs", "--tail", "40", self.name], capture_output=True, text=True)
        return result.stdout + result.stderr

    def remove(self):
        remove_peer(self.name)
        subprocess.run(["docker", "network", "rm", self.network], capture_output=True, timeout=60)
