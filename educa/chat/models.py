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

    class Meta:
        ordering = ["sent_on"]
        indexes = [models.Index(fields=["course", "-sent_on"])]

    def __str__(self):
        return f"{self.user} on {self.course} at {self.sent_on:%Y-%m-%d %H:%M}"
