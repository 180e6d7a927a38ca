from django.contrib import admin
from django.template.defaultfilters import truncatechars

from .models import Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["sent_on", "course", "user", "excerpt"]
    list_filter = ["sent_on", "course"]
    list_select_related = ["course", "user"]
    search_fields = ["content", "user__username", "course__title"]
    date_hierarchy = "sent_on"
    raw_id_fields = ["course", "user"]
    readonly_fields = ["sent_on"]

    @admin.display(description="message")
    def excerpt(self, message):
        return truncatechars(message.content, 80)
