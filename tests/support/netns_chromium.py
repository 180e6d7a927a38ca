"""Run Chromium in a network namespace of its own that reaches one TCP port of the host.

    python netns_chromium.py PORT CHROMIUM [CHROMIUM ARGUMENTS...]
    python netns_chromium.py --check     (exit status 0: this machine allows it)

Why: Chromium aborts every request in flight with ERR_NETWORK_CHANGED as soon
as an IP address appears on the machine, and Docker adds one (the IPv6
link-local address of a new veth) whenever any container starts, which on a
shared engine happens at any moment. In a namespace of its own, Chromium
sees no interface come or go.

How: before leaving the host's namespace, the launcher forks a relay that
stays in it. The launcher then enters a new network namespace, brings up the
loopback and a private veth pair (so the browser does not consider itself
offline), listens on 127.0.0.1:PORT there, hands that listening socket to the
relay and becomes Chromium. The relay accepts the browser's connections and
joins each to 127.0.0.1:PORT on the host: the browser uses the very address
and port a user would, through the stack's published NGINX port. The relay
exits with Chromium. Needs root (CAP_SYS_ADMIN) and iproute2's ``ip``.
"""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
# An address from TEST-NET-2, used only inside the namespace.
PRIVATE_ADDRESS = "198.51.100.1/24"

libc = ctypes.CDLL(None, use_errno=True)


def pump(source, destination):
    try:
        while data := source.recv(65536):
            destination.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((destination, socket.SHUT_WR), (source, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                sock.shutdown(how)


def join(client, port):
    try:
        upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    there = threading.Thread(target=pump, args=(client, upstream), daemon=True)
    there.start()
    pump(upstream, client)
    there.join()
    client.close()
    upstream.close()


def relay(channel, port):
    """The host side: accept from the namespace's listener, connect on the host."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    # Playwright talks to Chromium over pipes (fds 3 and 4) and watches its
    # output: the relay must hold none of them open.
    keep = channel.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if os.getppid() == 1:  # the launcher is already gone
        os._exit(0)
    _, fds, _, _ = socket.recv_fds(channel, 1, 1)
    if not fds:
        os._exit(0)
    listener = socket.socket(fileno=fds[0])
    while True:
        client, _ = listener.accept()
        threading.Thread(target=join, args=(client, port), daemon=True).start()


def enter_private_network():
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed (root is needed)")
    for command in (
        ["ip", "link", "set", "lo", "up"],
        ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"],
        ["ip", "address", "add", PRIVATE_ADDRESS, "dev", "eth0"],
        ["ip", "link", "set", "eth1", "up"],
        ["ip", "link", "set", "eth0", "up"],
    ):
        subprocess.run(command, check=True)


def main():
    if sys.argv[1:] == ["--check"]:
        enter_private_network()
        return
    port, chromium, arguments = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    launcher_end, relay_end = socket.socketpair()
    if os.fork() == 0:
        launcher_end.close()
        relay(relay_end, port)
        os._exit(0)
    relay_end.close()
    enter_private_network()
    listener = socket.create_server(("127.0.0.1", port))
    socket.send_fds(launcher_end, [b"L"], [listener.fileno()])
    listener.close()
    launcher_end.close()
    os.execv(chromium, [chromium, *arguments])  # noqa: S606 (Chromium itself, no shell wanted)


if __name__ == "__main__":
    main()
