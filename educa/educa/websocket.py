"""WebSocket addresses that lead nowhere."""

from channels.generic.websocket import AsyncWebsocketConsumer


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Refuse the handshake of a WebSocket path that no route matches.

    Without this last route channels' URLRouter raises ValueError, which
    Daphne answers with a 500 and an error traceback for every scanner that
    probes /ws/anything. Closing before accepting refuses the handshake with a
    403 instead, the same answer an unknown chat room gets.
    """

    async def connect(self):
        await self.close()
