"""The chat consumer in-process (channels' WebsocketCommunicator), for the unit layer."""

from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from chat.routing import websocket_urlpatterns


def communicator_for(user, course_id):
    """A client of the chat routes with ``user`` already authenticated in the scope."""
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/chat/room/{course_id}/")
    if user is not None:
        communicator.scope["user"] = user
    return communicator


async def joined(user, course_id):
    """``user``'s accepted socket in the course's room."""
    communicator = communicator_for(user, course_id)
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
