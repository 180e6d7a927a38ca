"""Container healthcheck for uWSGI: ask the application for /healthz over its socket.

uWSGI's socket speaks the uwsgi protocol, not HTTP, so no HTTP client can
probe it. This script sends one request the way NGINX does and exits 0 only
for a 200 answer, which proves the socket accepts connections, a worker is
free and Django answers.

    python healthcheck.py [--socket PATH|HOST:PORT] [--path /healthz] [--timeout SECONDS]

The socket defaults to uWSGI's own, UWSGI_SOCKET when it is set: a Unix
socket's path (Compose), or a TCP address such as ``:8000`` (Swarm), which
is probed on the loopback interface.

Exit status: 0 healthy, 1 unhealthy (the reason goes to stderr, which Docker
keeps in the health log).
"""

import argparse
import os
import socket
import struct
import sys

DEFAULT_SOCKET = "/run/educa/uwsgi.sock"


def socket_address(socket_name):
    """(family, address) for a Unix socket's path or a ``[host]:port``; an empty host is loopback."""
    if "/" in socket_name or ":" not in socket_name:
        return socket.AF_UNIX, socket_name
    host, _, port = socket_name.rpartition(":")
    # a wildcard bind address (uWSGI listens on every interface) is probed on loopback
    if host in ("", "0.0.0.0", "*"):  # noqa: S104
        host = "127.0.0.1"
    return socket.AF_INET, (host, int(port))


def encode_request(variables):
    """Pack WSGI variables into one uwsgi packet (modifier 0: a WSGI request).

    The packet is a 4-byte header (modifier1, little-endian body size,
    modifier2) followed by key/value pairs, each string prefixed by its
    little-endian 16-bit length.
    """
    body = b"".join(
        struct.pack("<H", len(key)) + key + struct.pack("<H", len(value)) + value
        for key, value in ((k.encode("latin-1"), v.encode("latin-1")) for k, v in variables.items())
    )
    return struct.pack("<BHB", 0, len(body), 0) + body


def request_variables(path):
    return {
        "REQUEST_METHOD": "GET",
        "REQUEST_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost",
        "HTTP_USER_AGENT": "educa-healthcheck",
    }


def read_status_line(sock):
    """Read up to the end of the status line ("HTTP/1.1 200 OK")."""
    data = b""
    while b"\r\n" not in data and len(data) < 4096:
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def probe(socket_name, path, timeout):
    family, address = socket_address(socket_name)
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.sendall(encode_request(request_variables(path)))
        return read_status_line(sock)


def main(argv=None):
    default_socket = os.environ.get("UWSGI_SOCKET") or DEFAULT_SOCKET
    parser = argparse.ArgumentParser(description="Probe uWSGI over its socket.")
    parser.add_argument(
        "--socket",
        default=default_socket,
        help=f"uwsgi socket, a path or host:port (default {default_socket})",
    )
    parser.add_argument("--path", default="/healthz", help="path to request (default /healthz)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait (default 5)")
    args = parser.parse_args(argv)

    try:
        status_line = probe(args.socket, args.path, args.timeout)
    except (OSError, ValueError) as exc:
        print(f"unhealthy: {args.socket}: {exc}", file=sys.stderr)
        return 1

    parts = status_line.split(" ", 2)
    if len(parts) >= 2 and parts[1] == "200":
        return 0
    print(f"unhealthy: GET {args.path} answered {status_line or 'nothing'!r}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
