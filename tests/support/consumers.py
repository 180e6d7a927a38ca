"""The chat consumer in-process (channels' WebsocketCommunicator), for the unit layer."""

from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from chat.routing import websocket_urlpatterns


def communicator_for(user, course_id, query=""):
    """A client of the chat routes with ``user`` already authenticated in the scope.

    ``query`` is the URL's query string, without the ``?`` (``"after=12"``).
    """
    path = f"/ws/chat/room/{course_id}/" + (f"?{query}" if query else "")
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    if user is not None:
        communicator.scope["user"] = user
    return communicator


async def joined(user, course_id, query=""):
    """``user``'s accepted socket in the course's room."""
    communicator = communicator_for(user, course_id, query)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def site_communicator(path, cookie="", origin="https://educa.test"):
    """A client of the whole WebSocket application (Origin check, session cookie, routes), as Daphne runs it.

    The default origin is the test settings' site, ``https://`` + SITE_DOMAIN.
    """
    from educa.asgi import application

    headers = [(b"host", b"educa.test"), (b"origin", origin.encode()), (b"cookie", cookie.encode())]
    return WebsocketCommunicator(application, path, headers=headers)
