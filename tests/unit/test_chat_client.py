"""The suite's own WebSocket client holds up over TLS under steady traffic.

websockets' sync client uses one TLS connection from two threads (a reader
thread and the caller), which OpenSSL does not allow: against a healthy
local server it lost handshakes ("timed out while waiting for handshake
response"), dropped connections, or crashed the process within seconds.
``tests.support.chat`` drives every connection from one event-loop thread;
this test gives it the traffic that broke the old client.
"""

import asyncio
import ssl
import threading

import pytest
import trustme

from tests.support.chat import open_socket

pytestmark = pytest.mark.unit

CONNECTIONS = 150
ROUND_TRIPS = 50


@pytest.fixture(scope="module")
def tls_echo_server():
    """A websockets TLS echo server on 127.0.0.1 in a thread of its own; yields (url, client context)."""
    from websockets.asyncio.server import serve

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    async def echo(connection):
        async for message in connection:
            await connection.send(message)

    started, running = threading.Event(), {}

    async def run():
        running["loop"], running["stop"] = asyncio.get_running_loop(), asyncio.Event()
        async with serve(echo, "127.0.0.1", 0, ssl=server_context) as server:
            running["port"] = server.sockets[0].getsockname()[1]
            started.set()
            await running["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    assert started.wait(30), "the echo server did not start"
    yield f"wss://localhost:{running['port']}/", client_context
    running["loop"].call_soon_threadsafe(running["stop"].set)
    thread.join(30)


def test_many_tls_connections_each_with_many_round_trips(tls_echo_server):
    url, context = tls_echo_server
    for connection in range(CONNECTIONS):
        with open_socket(url, ssl_context=context) as socket:
            for number in range(ROUND_TRIPS):
                text = f"{connection}:{number}:" + "x" * 2000
                socket.send(text)
                assert socket.recv(timeout=10) == text


def test_sockets_used_from_several_threads_at_once(tls_echo_server):
    """Tests may talk on different sockets from threads; each frame still reaches its own socket."""
    url, context = tls_echo_server
    failures = []

    def talk(name):
        try:
            with open_socket(url, ssl_context=context) as socket:
                for number in range(ROUND_TRIPS):
                    socket.send(f"{name}-{number}")
                    assert socket.recv(timeout=10) == f"{name}-{number}"
        except Exception as error:  # collected and reported by the main thread
            failures.append(f"{name}: {error!r}")

    threads = [threading.Thread(target=talk, args=(f"t{index}",)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
