"""WebSocket paths without a route are refused cleanly, not answered with a server error."""

import pytest
from channels.testing import WebsocketCommunicator

pytestmark = [pytest.mark.unit, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("path", ["/ws/", "/ws/nowhere/", "/ws/chat/room/abc/", "/ws/chat/room/1/extra/"])
async def test_unknown_websocket_paths_are_refused(path):
    from educa.asgi import application

    # the site's own origin: refused by the routes, not by the Origin check
    headers = [(b"host", b"educa.test"), (b"origin", b"https://educa.test")]
    communicator = WebsocketCommunicator(application, path, headers=headers)

    connected, _ = await communicator.connect()

    assert not connected
