"""The suite's own WebSocket client holds up over TLS under steady traffic.

websockets' sync client uses one TLS connection from two threads (a reader
thread and the caller), which OpenSSL does not allow: against a healthy
local server it lost handshakes ("timed out while waiting for handshake
response"), dropped connections, or crashed the process within seconds.
``tests.support.chat`` drives every connection from one event-loop thread;
this test gives it the traffic that broke the old client.

Its ``ReconnectingChat`` is tried against Daphne itself (runserver), which
the tests stop and start under it as a deploy does.
"""

import asyncio
import ssl
import threading
from datetime import datetime

import pytest
import trustme

from chat.consumers import CATCH_UP_OVERLAP
from tests.support.chat import ReconnectingChat, open_socket
from tests.support.journeys import DEMO_COURSE
from tests.support.local_server import LocalServer, prepare_local_database

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


# --- ReconnectingChat, with the Daphne process stopped and started under it ---------


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two Daphne processes on one database, each with a channel layer of its own."""
    workdir = tmp_path_factory.mktemp("reconnecting")
    prepare_local_database(workdir)
    started = []
    try:
        for name in ("daphne-a", "daphne-b"):
            started.append(LocalServer(workdir, name))
            started[-1].start()
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def members(servers):
    """The demo course's id, and two of its students signed in: ana and ben."""
    ana, ben = servers[0].client(), servers[0].client()
    ana.register("ana", "Reconnecting-pw-1")
    ben.register("ben", "Reconnecting-pw-2")
    course = ana.enrol(DEMO_COURSE)
    assert ben.enrol(DEMO_COURSE) == course
    return course, ana, ben


def chat_on(server, course, client):
    return ReconnectingChat(
        server.chat_url(course), origin=server.base_url, cookies=dict(client.cookies.items())
    )


def restarting(server, between=lambda: None):
    """Stop ``server``, call ``between``, start it again (also when ``between`` fails)."""
    server.stop()
    try:
        between()
    finally:
        server.start()


def test_messages_sent_as_the_server_stops_are_stored_once_and_reach_everyone(servers, members):
    server = servers[0]
    course, ana, ben = members
    with chat_on(server, course, ana) as ana_chat, chat_on(server, course, ben) as ben_chat:
        first = ana_chat.send("before the restart")
        for chat in (ana_chat, ben_chat):
            chat.wait_for(keys=[first])
        # Some of these may be stored before the server goes, their echo lost
        # with it; the others are not: all are sent again on the next socket.
        texts = [f"as the server stops {number}" for number in range(5)]
        keys = [ana_chat.send(text) for text in texts]
        offline = []

        def while_down():
            texts.append("while the server is down")
            offline.append(ana_chat.send(texts[-1]))
            assert offline[0] in ana_chat.pending()

        restarting(server, while_down)
        keys += offline

        for chat in (ana_chat, ben_chat):
            chat.wait_for(keys=keys, timeout=60)
            # stored once: one message (one id) for each key
            mine = [message["message"] for message in chat.messages() if message["key"] in keys]
            assert sorted(mine) == sorted(texts)
            assert chat.reconnects >= 1
            assert chat.errors == []
        assert ana_chat.pending() == []


def test_a_client_catches_up_on_reconnecting_with_what_was_said_while_it_was_away(servers, members):
    """Ben is on one server and Ana on the other, whose broadcasts never reach Ben's socket:
    he gets her message from the catch-up of his next socket (``after=``) alone."""
    here, elsewhere = servers
    course, ana, ben = members
    with chat_on(here, course, ben) as ben_chat, chat_on(elsewhere, course, ana) as ana_chat:
        was_here = ben_chat.send("ben was here")
        ben_chat.wait_for(keys=[was_here])
        said = ana_chat.send("said on the other server")
        ana_chat.wait_for(keys=[said])
        with pytest.raises(TimeoutError):
            ben_chat.wait_for(keys=[said], timeout=1)

        restarting(here)

        ben_chat.wait_for(keys=[said], timeout=60)
        assert ben_chat.reconnects == 1
        # he asked for what came after the last message he had, not the whole
        # history again: what he got twice was stored just before it
        had = ben_chat.wait_for(keys=[was_here])[was_here]
        overlap_starts = datetime.fromisoformat(had["datetime"]) - CATCH_UP_OVERLAP
        again = [message for message in ben_chat.messages() if message["id"] in ben_chat.duplicates]
        assert all(datetime.fromisoformat(message["datetime"]) >= overlap_starts for message in again)
        assert ana_chat.reconnects == 0
