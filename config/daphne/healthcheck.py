"""Container healthcheck for Daphne: healthy while the chat can work.

The chat needs the channel layer (Redis) to deliver messages and the database
to keep them, so Daphne is unhealthy when either fails, not only when the
process stops answering: `docker compose ps` shows which service is broken
within seconds (a wrong REDIS_PASSWORD, say), and the reason is printed here,
where `docker inspect` keeps it, while Daphne's log has the details. A failing
cache alone does not count: the chat does not use it.

It asks Daphne's own /readyz on loopback (answered before host validation);
NGINX sends only /ws/ to Daphne, so nobody outside reaches it this way.

Exit status: 0 healthy, 1 unhealthy.
"""

import json
import sys
import urllib.error
import urllib.request

READYZ = "http://127.0.0.1:8001/readyz"
NEEDED = ("database", "channel_layer")


def main():
    try:
        with urllib.request.urlopen(READYZ, timeout=8) as answer:  # noqa: S310  # nosec B310 - a fixed loopback URL
            body = json.load(answer)
    except urllib.error.HTTPError as refused:  # 503 still names the checks
        body = json.load(refused)
    except (OSError, ValueError) as error:
        print(f"Daphne does not answer {READYZ}: {error}")
        return 1
    failing = [name for name in NEEDED if body.get("checks", {}).get(name) != "ok"]
    if failing:
        print(f"the chat cannot work: {' and '.join(failing)} failing (docker compose logs daphne says why)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
