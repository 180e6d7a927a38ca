from django.conf import settings
from django.db import models


class Message(models.Model):
    """A chat message, kept so a room shows its recent history."""

    # Deleting a user or a course takes their messages with them; chat
    # history must never block a delete.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="chat_messages", on_delete=models.CASCADE)
    course = models.ForeignKey("courses.Course", related_name="chat_messages", on_delete=models.CASCADE)
    content = models.TextField()
    sent_on = models.DateTimeField(auto_now_add=True, db_index=True)
    # The key the sender's client gave the message, so that sending it again
    # (after a reconnect, not knowing whether the first copy arrived) stores
    # nothing new. NULL, not "", for clients that send none: "no key" is then
    # no value at all, which no unique constraint ever compares.
    client_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001

    class Meta:
        ordering = ["sent_on"]
        indexes = [models.Index(fields=["course", "-sent_on"])]
        constraints = [
            # The database decides between two sockets sending the same key at
            # once; partial, so messages without a key are not indexed at all.
            models.UniqueConstraint(
                fields=["user", "client_key"],
                condition=models.Q(client_key__isnull=False),
                name="chat_message_client_key_unique_per_user",
            )
        ]

    def __str__(self):
        return f"{self.user} on {self.course} at {self.sent_on:%Y-%m-%d %H:%M}"
