from django import template

from ..embed import embed_url

register = template.Library()


@register.filter
def model_name(obj):
    """``{{ content.item|model_name }}`` -> "text", "video", "image" or "file"."""
    try:
        return obj._meta.model_name
    except AttributeError:
        return ""


@register.filter
def video_embed_url(url):
    """The player URL of a YouTube or Vimeo address, or "" for any other address."""
    return embed_url(url) or ""
