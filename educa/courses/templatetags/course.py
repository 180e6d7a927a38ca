from django import template

from ..embed import embed_url
from ..markdown import render_markdown

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


@register.filter
def markdown(text):
    """An instructor's text as HTML (Markdown, raw HTML shown as text)."""
    return render_markdown(text)
