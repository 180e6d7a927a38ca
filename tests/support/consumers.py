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
