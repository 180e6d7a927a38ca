"""A second client with an address of its own, for the tests of per-address limits.

Every request a test sends through the published port reaches NGINX from
one address (the host's side of the stack's network), so "another client is
still served" needs a client elsewhere. This one is curl inside the NGINX
container, talking to NGINX over the container's loopback: NGINX sees
127.0.0.1, a different address with limits of its own, and it still goes
through TLS (verified against the stack's certificate), the site's server
block and Django, as any visitor does.
"""

# curl's options for every request: the site's own name resolved to the
# loopback, the certificate verified, a cookie jar kept between requests
CURL = (
    "curl --silent --show-error --max-time 30 --cacert /etc/nginx/certs/local-ca.pem "
    '--resolve "$SITE:8443:127.0.0.1" --cookie-jar "$JAR" --cookie "$JAR" '
    '--dump-header "$HEADERS" --output "$BODY" --write-out "%{http_code}"'
)

# One line per request: "<status> <Retry-After or ->".
SCRIPT = f"""
set -eu
JAR=$(mktemp) HEADERS=$(mktemp) BODY=$(mktemp)
trap 'rm -f "$JAR" "$HEADERS" "$BODY"' EXIT
report() {{
    retry=$(tr -d '\\r' < "$HEADERS" | awk 'tolower($1) == "retry-after:" {{print $2}}')
    echo "$1 ${{retry:--}}"
}}
if [ -n "${{USERNAME:-}}" ]; then
    code=$({CURL} "https://$SITE:8443/accounts/login/")
    [ "$code" = 200 ] || {{ echo "GET /accounts/login/: $code" >&2; exit 1; }}
    token=$(awk '$6 == "csrftoken" {{print $7}}' "$JAR")
    i=0
    while [ "$i" -lt "$TIMES" ]; do
        i=$((i + 1))
        code=$({CURL} --header "Referer: $ORIGIN/accounts/login/" \\
            --data-urlencode "csrfmiddlewaretoken=$token" --data-urlencode "username=$USERNAME" \\
            --data-urlencode "password=$PASSWORD" "https://$SITE:8443/accounts/login/")
        report "$code"
    done
else
    for path in $PATHS; do
        code=$({CURL} "https://$SITE:8443$path")
        report "$code"
    done
fi
"""


def _run(stack, **env):
    result = stack.exec(
        "nginx", "sh", "-c", SCRIPT, env={"SITE": stack.host, "ORIGIN": stack.base_url, **env}
    )
    answers = []
    for line in result.stdout.split("\n"):
        if line.strip():
            status, retry_after = line.split()
            answers.append((int(status), None if retry_after == "-" else int(retry_after)))
    return answers


def get(stack, *paths):
    """GET each path from the other address; [(status, Retry-After or None)]."""
    assert all(path.startswith("/") and " " not in path for path in paths), paths
    return _run(stack, PATHS=" ".join(paths))


def sign_in(stack, username, password, times=1):
    """Submit the sign-in form ``times`` times from the other address; [(status, Retry-After)].

    A successful sign-in answers 302 (to the landing page), a wrong
    password 200 (the form again).
    """
    return _run(stack, USERNAME=username, PASSWORD=password, TIMES=str(times))
