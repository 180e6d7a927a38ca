"""A course room's broadcasts, handed to this process's members of the room in one pass.

Why not one group member per socket, as channels does it: then every
broadcast becomes one message per socket inside the process, each taken off
a queue by the socket's own task, decoded, and dispatched through channels'
wait on the socket's inputs, which then starts a new task. In a room of 500
those steps cost more of Daphne's time than sending the frames, and the last
member waited for all of them.

Here each room with a member in this process has one channel in the room's
group, whatever its number of members. One task reads it, encodes each
message once, and sends the frame to every member in turn, without giving
the event loop back in between. Membership of the room is this process's
memory; the group in the channel layer, and so what any other process (of
this version or the one before) sends to the room, is unchanged.
"""

import asyncio
import json
import logging
import weakref

logger = logging.getLogger(__name__)

# The keys of a message frame, in the order they are sent.
FRAME_KEYS = ("id", "user", "message", "datetime", "key")
# The one kind of broadcast a room passes on.
MESSAGE_TYPE = "chat.message"


def frame_text(message):
    """A broadcast as its members' sockets get it (JSON text).

    ``get``: during a rolling deploy, processes still on the previous version
    broadcast messages without a key.
    """
    return json.dumps({key: message.get(key) for key in FRAME_KEYS})


class Room:
    """One room's channel in its group, and the task that hands its messages to the members."""

    def __init__(self, layer, group):
        self.layer = layer
        self.group = group
        # a set that keeps the order of joining (a dict's keys)
        self.members = {}
        self.channel = None
        self.pump = None
        self.opened = asyncio.ensure_future(self._open())

    async def _open(self):
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        self.pump = asyncio.ensure_future(self._hand_out())

    async def _hand_out(self):
        while True:
            try:
                message = await self.layer.receive(self.channel)
                if message.get("type") == MESSAGE_TYPE:
                    await self._deliver(frame_text(message))
                else:
                    await self._forward(message)
            except Exception:
                # One message that cannot be read or encoded must not end the
                # room for everybody in this process: log it, take the next.
                logger.exception("could not hand out a message of %s", self.group)

    async def _deliver(self, text):
        # a copy: a member may leave while its frame is being sent
        for member in list(self.members):
            try:
                await member.deliver(text)
            except Exception:
                # One socket's failure must not cost the others their frame.
                logger.exception("could not pass a message of %s on to a socket", self.group)

    async def _forward(self, message):
        """Any other event sent to the room (a rare one, such as the course's deletion) goes to
        each member's own channel, for the member to handle as it handles its own events."""
        for member in list(self.members):
            try:
                await self.layer.send(member.channel_name, message)
            except Exception:
                logger.exception("could not forward %s of %s to a socket", message.get("type"), self.group)

    async def close(self):
        try:
            await self.opened
        except Exception:
            # never opened: those who joined were given the error
            return
        self.pump.cancel()
        await asyncio.gather(self.pump, return_exceptions=True)
        await self.layer.group_discard(self.group, self.channel)


class Rooms:
    """The rooms with a member in this process, for one channel layer and one event loop."""

    def __init__(self, layer):
        self.layer = layer
        self.rooms = {}
        # rooms being closed, kept from the garbage collector until they are
        self.closing = set()

    async def join(self, group, member):
        """Pass the room's broadcasts on to ``member`` from when this returns.

        A chat message is handed to ``member.deliver(text)``, its frame's JSON
        text; any other event is sent to ``member.channel_name``.
        """
        room = self.rooms.get(group)
        if room is None:
            room = self.rooms[group] = Room(self.layer, group)
        room.members[member] = None
        try:
            # shielded: a member cancelled while the room opens must not
            # cancel the opening for the others who wait on it
            await asyncio.shield(room.opened)
        except BaseException:
            self.leave(group, member)
            raise

    def leave(self, group, member):
        """Stop passing messages on to ``member``, at once.

        The last member to leave closes the room; the task that does it is
        returned (else None) for a caller that may wait for it. Not a
        coroutine, so a consumer being cancelled still leaves.
        """
        room = self.rooms.get(group)
        if room is None or member not in room.members:
            return None
        del room.members[member]
        if room.members:
            return None
        # out of the table first: whoever joins from now on opens a new room
        del self.rooms[group]
        closing = asyncio.ensure_future(room.close())
        self.closing.add(closing)
        closing.add_done_callback(self.closing.discard)
        return closing

    def members(self, group):
        room = self.rooms.get(group)
        return list(room.members) if room is not None else []


# Rooms are per event loop (Daphne runs one; tests start one per test) and per
# channel layer; forgotten with their loop.
_rooms = weakref.WeakKeyDictionary()


def rooms_for(channel_layer):
    """This event loop's rooms on ``channel_layer``."""
    by_layer = _rooms.setdefault(asyncio.get_running_loop(), {})
    rooms = by_layer.get(id(channel_layer))
    if rooms is None or rooms.layer is not channel_layer:
        rooms = by_layer[id(channel_layer)] = Rooms(channel_layer)
    return rooms
