from django.conf import settings
from django.db import models


class EnrollReminder(models.Model):
    """The reminder to enrol a user was sent: each user gets one, however often the job runs."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enroll_reminder"
    )
    sent = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"reminder to {self.user} on {self.sent:%Y-%m-%d}"
