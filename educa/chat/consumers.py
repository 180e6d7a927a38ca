"""The WebSocket side of the course chat.

Protocol (text frames, JSON):

- URL: ``/ws/chat/room/<course id>/``, optionally with ``?after=<message id>``:
  once connected, the socket first gets the room's stored messages with a
  greater id, and those stored shortly before message ``after`` (the newest
  ``CHAT_HISTORY_LENGTH`` of them, oldest first), so a client that
  reconnects catches up with what it missed. A malformed ``after`` is
  ignored.
- client → server: ``{"message": "<text>", "key": "<key>"}``, the key optional
  (1 to 64 of ``A-Z a-z 0-9 _ -``), chosen by the client for each message.
  A key the user already sent stores nothing new: the stored message is
  broadcast again, so a client that resends after a reconnect (not knowing
  whether the first copy arrived) gets its confirmation, and the room gets
  a message whose first broadcast was lost with the server that stored it.
- server → client: ``{"id": 1, "user": "ana", "message": "<text>", "datetime":
  "<ISO 8601>", "key": "<key>" or null}`` for every message of the room (the
  sender's own included), or ``{"error": "<reason>"}`` for a frame that was
  refused; the connection stays open. A client may get a message more than
  once (caught up and live, or sent again): the id tells copies apart.

Message text is plain text end to end: the server never builds HTML from it
and the page inserts it with ``textContent``.

Abuse limits: each socket may send a burst of ``CHAT_RATE_BURST`` frames,
refilled at ``CHAT_RATE_PER_SECOND``; a user holds at most
``CHAT_MAX_SOCKETS_PER_USER`` sockets across every Daphne process
(``chat.sockets``). Removal from the course and signing out reach the
user's sockets at once through a group of their own (``chat.signals``).
docs/websocket.md is the protocol's reference.
"""

import asyncio
import hashlib
import json
import logging
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q

from . import rooms, sockets
from .models import Message
from .permissions import chat_course_for, may_chat

logger = logging.getLogger(__name__)

# Close code for frames far beyond any legitimate message. RFC 6455's own
# "message too big" (1009) is reserved for the WebSocket stack itself (Daphne
# refuses to send it), so the application range mirrors it as 4009.
CLOSE_TOO_BIG = 4009
# Close code for a user who left the course (or was removed) while connected.
CLOSE_NOT_A_MEMBER = 4003
# Close code for the sockets of a session that signed out (HTTP's 401, mirrored).
CLOSE_SIGNED_OUT = 4001
# Close code for a client that kept sending after being told it was over the
# message rate: RFC 6455's "policy violation" (1008), mirrored.
CLOSE_TOO_FAST = 4008
# Close code for a socket over the user's cap of simultaneous sockets
# (HTTP's 429 Too Many Requests, mirrored).
CLOSE_TOO_MANY_SOCKETS = 4029

TOO_FAST = "You are sending messages too fast; wait a moment."
NOT_A_MEMBER = "You are no longer a member of this course."
BAD_FRAME = 'Send JSON of the form {"message": "<text>"}.'
BAD_KEY = "A message key is 1 to 64 characters: letters, digits, - and _."
KEY_TAKEN = "That key belongs to a message in another room; send this one with a new key."

# What a client may use as a message's key: enough for a random token, and
# nothing that needs escaping anywhere.
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
# How far before the newest message a client has its catch-up reaches back:
# far longer than a message takes from its insert to its broadcast, even on a
# loaded server, and short enough that a reconnect costs a few frames.
CATCH_UP_OVERLAP = timedelta(seconds=10)


def group_name(course_id):
    return f"chat_{course_id}"


def user_group_name(user_id):
    """Every socket of a user, whatever the room: how removals and sign-outs reach them."""
    return f"chat_user_{user_id}"


def session_digest(session_key):
    """What identifies a session in channel-layer messages: not the key itself, a credential."""
    return hashlib.sha256(session_key.encode()).hexdigest() if session_key else None


class TokenBucket:
    """``burst`` frames at once, then ``rate`` frames a second on average.

    Each frame takes a token; tokens come back at ``rate`` a second up to
    ``burst``. A few lines, so no dependency for it.
    """

    def __init__(self, burst, rate, clock):
        self.burst = burst
        self.rate = rate
        self.clock = clock
        self.tokens = float(burst)
        self.updated = clock()

    def take(self):
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class KeyTaken(Exception):
    """A client reused one of its message keys in another room."""


def message_frame(message):
    """A stored message as the room's sockets get it: broadcast, echoed again or caught up."""
    return {
        "id": message.pk,
        "user": message.user.get_username(),
        "message": message.content,
        "datetime": message.sent_on.isoformat(),
        "key": message.client_key,
    }


def store_message(user, course, text, key):
    """Store a message; ``(its frame, True)``, or ``(the stored one's frame, False)`` for a key sent before.

    A key this user already sent in this room stores nothing. The insert
    comes first and the unique constraint on (user, key) decides, so two
    sockets (or Daphne processes) sending the same key at once store it
    once: the second insert fails (on PostgreSQL, once the first has
    committed) and reads the first one's message. ``KeyTaken`` when the key
    is on a message of another room.
    """
    try:
        # A savepoint, so a refused insert leaves any enclosing transaction usable.
        with transaction.atomic():
            message = Message.objects.create(user=user, course=course, content=text, client_key=key)
        return message_frame(message), True
    except IntegrityError:
        if key is None:
            raise
        stored = (
            Message.objects.filter(user=user, course=course, client_key=key).select_related("user").first()
        )
        if stored is None:
            raise KeyTaken(key) from None
        return message_frame(stored), False


def after_id(scope):
    """The socket URL's ``after`` (a message id), or None when absent or not a non-negative integer.

    A malformed value is ignored rather than refused: a client that cannot
    catch up still chats. Over 18 digits is not an id (they are 64-bit
    signed integers) and would overflow the query.
    """
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("after")
    if not values:
        return None
    value = values[0]
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        return None
    return int(value)


def frame_size_limit():
    """The largest frame worth parsing.

    JSON may escape a character into six (``\\u0000``), so a message at the
    length limit fits well inside this; anything larger did not come from our
    page and the connection is closed rather than the frame parsed.
    """
    return 6 * settings.CHAT_MESSAGE_MAX_LENGTH + 1024


class ChatConsumer(AsyncWebsocketConsumer):
    """One connection to a course's chat room."""

    course = None
    group = None
    user_group = None
    registry = None
    rooms = None
    # broadcasts that came while connect() was still running (deliver())
    held = None
    refresher = None
    bucket = None
    closed = False
    # The rate limit's clock; tests replace it.
    clock = staticmethod(time.monotonic)

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Also when Daphne cancels the consumer without a disconnect: a
            # refresher left running would keep a dead socket counted.
            if self.refresher is not None:
                self.refresher.cancel()
            # also when connect() failed after joining, and no disconnect came
            if self.rooms is not None:
                self.rooms.leave(self.group, self)

    async def dispatch(self, message):
        """Channels' own dispatch, without its thread round trip before every handler.

        channels closes stale database connections before each message it
        dispatches, with a ``sync_to_async`` call: a hop into the one thread
        that runs Django's sync code, and back, for every frame a client
        sends and every event of the user's group. Here every database access
        already goes through ``database_sync_to_async``, which closes stale
        connections in its own hop, so the extra one is skipped. (The room's
        broadcasts do not come this way at all: chat.rooms.)
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        self.user = self.scope.get("user")
        course_id = self.scope["url_route"]["kwargs"]["course_id"]
        self.course = await database_sync_to_async(chat_course_for)(self.user, course_id)
        if self.course is None:
            # Before accept() this refuses the handshake (HTTP 403): anonymous
            # users, outsiders and unknown courses all look the same.
            await self.close()
            return
        registry = sockets.registry_for(self.channel_layer)
        if not await registry.take(self.user.pk, self.channel_name, settings.CHAT_MAX_SOCKETS_PER_USER):
            # Accepted, then closed with a code of its own: a refused handshake
            # reaches the page's script as a bare 1006, and the page could not
            # tell the user why. Only members get this far, so this tells an
            # outsider nothing about the course.
            await self.accept()
            await self.close(code=CLOSE_TOO_MANY_SOCKETS)
            return
        self.registry = registry
        self.refresher = asyncio.create_task(
            sockets.keep_counted(registry, self.user.pk, self.channel_name, logger)
        )
        self.bucket = TokenBucket(settings.CHAT_RATE_BURST, settings.CHAT_RATE_PER_SECOND, self.clock)
        self.refused_in_a_row = 0
        session = self.scope.get("session")
        self.session = session_digest(session.session_key if session is not None else None)
        self.group = group_name(self.course.pk)
        self.user_group = user_group_name(self.user.pk)
        # Broadcasts to the room are held until the socket is accepted and
        # has what it missed, then sent in the order they came (deliver()).
        self.held = []
        self.rooms = rooms.rooms_for(self.channel_layer)
        await self.rooms.join(self.group, self)
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        await self.accept()
        after = after_id(self.scope)
        if after is not None:
            # Read after joining the room: a message stored from now on is
            # broadcast to this socket too, so none falls between the two;
            # one stored meanwhile may come both ways, and the client drops
            # the copy by its id.
            for frame in await self.missed_messages(after):
                await self.send(text_data=json.dumps(frame))
        while self.held:
            await self.send(text_data=self.held.pop(0))
        self.held = None

    async def disconnect(self, code):
        if self.rooms is not None:
            closing = self.rooms.leave(self.group, self)
            if closing is not None:
                await closing
        if self.user_group is not None:
            await self.channel_layer.group_discard(self.user_group, self.channel_name)
        if self.registry is not None:
            self.refresher.cancel()
            await self.registry.release(self.user.pk, self.channel_name)

    async def close(self, code=None, reason=None):
        # Frames and broadcasts that arrive after this, before the socket is
        # gone, are dropped: a removed member reads nothing more.
        self.closed = True
        await super().close(code=code, reason=reason)

    async def receive(self, text_data=None, bytes_data=None):
        if self.closed or self.bucket is None:
            return
        # Every frame counts, whatever it holds: a flood of malformed frames
        # costs the server as much as one of messages.
        if not self.bucket.take():
            self.refused_in_a_row += 1
            if self.refused_in_a_row <= settings.CHAT_RATE_BURST:
                await self.send_error(TOO_FAST)
            elif self.refused_in_a_row == settings.CHAT_RATE_BURST + 1:
                # A whole burst of refusals ignored: not a person typing.
                # (Frames still in flight after this are dropped unanswered.)
                await self.close(code=CLOSE_TOO_FAST)
            return
        self.refused_in_a_row = 0
        if text_data is None:
            await self.send_error("Only text frames are accepted.")
            return
        if len(text_data) > frame_size_limit():
            await self.close(code=CLOSE_TOO_BIG)
            return
        parsed = self.parse_message(text_data)
        if parsed is None:
            await self.send_error(BAD_FRAME)
            return
        text, key = parsed
        if key is not None and not (isinstance(key, str) and KEY_PATTERN.fullmatch(key)):
            await self.send_error(BAD_KEY)
            return
        text = text.strip()
        if not text:
            return
        if len(text) > settings.CHAT_MESSAGE_MAX_LENGTH:
            await self.send_error(f"Messages are limited to {settings.CHAT_MESSAGE_MAX_LENGTH} characters.")
            return
        try:
            saved = await self.save_message(text, key)
        except KeyTaken:
            await self.send_error(KEY_TAKEN)
            return
        except DatabaseError:
            logger.exception("could not save a chat message in course %s", self.course.pk)
            await self.send_error("The message could not be sent; please try again.")
            return
        if saved is None:
            await self.send_error(NOT_A_MEMBER)
            await self.close(code=CLOSE_NOT_A_MEMBER)
            return
        frame, _created = saved
        # Only a stored message is broadcast, so what people saw is what the
        # history will show when the page is reloaded. A key sent again is
        # broadcast again too: its first copy may have been stored by a
        # Daphne that stopped (a deploy cancels its consumers) before it could
        # broadcast, and then the sender's copy is the room's only chance to
        # see it. Those who saw it already drop it by its id.
        await self.channel_layer.group_send(self.group, {"type": "chat.message", **frame})

    @staticmethod
    def parse_message(text_data):
        """``(text, key)`` of a ``{"message": "<text>", "key": ...}`` frame, or None for any other shape.

        The key is returned as sent (None when absent or null), for the caller to check.
        """
        try:
            payload = json.loads(text_data)
        except ValueError:
            return None
        if not isinstance(payload, dict):
            return None
        text = payload.get("message")
        return (text, payload.get("key")) if isinstance(text, str) else None

    @database_sync_to_async
    def save_message(self, text, key):
        """Store the message and return ``(its frame, created)``, or None if the user left the course.

        Membership is checked again for every message: the one checked on
        connecting may have ended since (unenrolled, or removed by the owner).
        """
        if not may_chat(self.user, self.course):
            return None
        return store_message(self.user, self.course, text, key)

    @database_sync_to_async
    def missed_messages(self, after):
        """The frames of the room's messages the client may have missed: the
        newest ``CHAT_HISTORY_LENGTH``, oldest first, as the chat page shows
        its history.

        Those are the messages with an id above ``after``, and the ones
        stored up to ``CATCH_UP_OVERLAP`` before message ``after``. Ids are
        taken in insert order but broadcast in commit order, from several
        Daphne processes: a message that took its id just before another may
        reach a socket just after it, or not before the socket drops. The
        client drops the copies it has by their ids.
        """
        room = Message.objects.filter(course=self.course)
        missed = Q(pk__gt=after)
        anchor = room.filter(pk=after).values_list("sent_on", flat=True).first()
        if anchor is not None:
            missed |= Q(pk__lt=after, sent_on__gte=anchor - CATCH_UP_OVERLAP)
        newest = room.filter(missed).select_related("user").order_by("-pk")[: settings.CHAT_HISTORY_LENGTH]
        return [message_frame(message) for message in reversed(list(newest))]

    async def deliver(self, text):
        """A message broadcast to the room (its frame's JSON text): pass it on to this client.

        Called by the room (chat.rooms), not through the channel layer.
        """
        if self.closed:
            return
        if self.held is not None:
            self.held.append(text)
            return
        await self.send(text_data=text)

    async def chat_membership(self, event):
        """The user left some courses (``courses``: their ids, None for all): still in this one?"""
        courses = event.get("courses")
        if self.closed or (courses is not None and self.course.pk not in courses):
            return
        if await database_sync_to_async(chat_course_for)(self.user, self.course.pk) is None:
            await self.send_error(NOT_A_MEMBER)
            await self.close(code=CLOSE_NOT_A_MEMBER)

    async def chat_signed_out(self, event):
        """A session of this user signed out: close the sockets opened with it, and only those."""
        if not self.closed and self.session is not None and event.get("session") == self.session:
            await self.send_error("You have signed out.")
            await self.close(code=CLOSE_SIGNED_OUT)

    async def send_error(self, reason):
        await self.send(text_data=json.dumps({"error": reason}))
