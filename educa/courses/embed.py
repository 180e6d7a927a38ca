"""Turn a video page URL into something a page can embed.

Only YouTube and Vimeo are recognised, and only by building their documented
embed URLs from an id matched against a strict pattern: nothing from the
instructor's URL other than that id reaches the ``<iframe>``'s ``src``.
"""

import re
from urllib.parse import parse_qs, urlsplit

_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_VIMEO_ID = re.compile(r"[0-9]{1,12}")
_YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}
_YOUTUBE_NOCOOKIE_HOSTS = {"youtube-nocookie.com", "www.youtube-nocookie.com"}
_VIMEO_HOSTS = {"vimeo.com", "www.vimeo.com", "player.vimeo.com"}


def _youtube_id(host, path, query):
    segments = [segment for segment in path.split("/") if segment]
    if host in {"youtu.be", "www.youtu.be"}:
        candidate = segments[0] if segments else ""
    elif host in _YOUTUBE_HOSTS | _YOUTUBE_NOCOOKIE_HOSTS:
        if segments[:1] == ["watch"]:
            candidate = parse_qs(query).get("v", [""])[0]
        elif len(segments) >= 2 and segments[0] in {"embed", "shorts", "live", "v"}:
            candidate = segments[1]
        else:
            return None
    else:
        return None
    return candidate if _YOUTUBE_ID.fullmatch(candidate) else None


def _vimeo_id(host, path):
    if host not in _VIMEO_HOSTS:
        return None
    segments = [segment for segment in path.split("/") if segment]
    if host == "player.vimeo.com":
        segments = segments[1:] if segments[:1] == ["video"] else []
    # vimeo.com/<id>, vimeo.com/channels/<name>/<id>, vimeo.com/groups/<name>/videos/<id>
    numeric = [segment for segment in segments if _VIMEO_ID.fullmatch(segment)]
    return numeric[-1] if numeric else None


def embed_url(url):
    """The embeddable player URL for ``url``, or None when it is not a known video site."""
    try:
        parts = urlsplit(url.strip())
    except (AttributeError, ValueError):
        return None
    if parts.scheme not in {"http", "https"}:
        return None
    host = (parts.hostname or "").lower()
    video_id = _youtube_id(host, parts.path, parts.query)
    if video_id:
        return f"https://www.youtube.com/embed/{video_id}"
    video_id = _vimeo_id(host, parts.path)
    if video_id:
        return f"https://player.vimeo.com/video/{video_id}"
    return None
