"""What NGINX, the stack's edge, promises to every visitor.

Driven from outside through the published ports only, with TLS verified
against the certificate the stack made for itself on its first start.
"""

import gzip
import re
import socket
import ssl
import warnings

import pytest
import requests

pytestmark = pytest.mark.stack

ONE_YEAR = 31536000


def get(stack, path, **kwargs):
    kwargs.setdefault("timeout", 30)
    kwargs.setdefault("allow_redirects", False)
    return requests.get(f"{stack.base_url}{path}", verify=str(stack.ca_file), **kwargs)


def stylesheet_path(stack):
    """The hashed stylesheet the home page links to, as a browser would find it."""
    page = get(stack, "/")
    assert page.status_code == 200
    found = re.search(r'<link rel="stylesheet" href="(/static/css/educa\.[0-9a-f]{12}\.css)"', page.text)
    assert found, "the home page links no hashed stylesheet"
    return found[1]


def tls_handshake(stack, version, ciphers=None, alpn=None):
    """Connect with exactly one TLS version; return (negotiated version, ALPN protocol)."""
    context = stack.ssl_context()
    with warnings.catch_warnings():
        # Python deprecates pinning TLS 1.0/1.1; offering them is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = version
        context.maximum_version = version
    if ciphers:
        context.set_ciphers(ciphers)
    if alpn:
        context.set_alpn_protocols(alpn)
    with (
        socket.create_connection(("localhost", stack.https_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        return tls.version(), tls.selected_alpn_protocol()


# --- HTTP -> HTTPS ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/course/mine/?page=2", "/students/register/"])
def test_plain_http_is_sent_to_the_same_page_over_https(stack, path):
    """Someone typing the http:// address lands on the same page over HTTPS (the public port kept)."""
    response = requests.get(f"{stack.http_url}{path}", allow_redirects=False, timeout=30)
    assert response.status_code in (301, 308)
    assert response.headers["Location"] == f"https://localhost:{stack.https_port}{path}"


def test_acme_challenges_are_answered_over_plain_http(stack):
    """Let's Encrypt's HTTP-01 challenges are answered over plain HTTP, not redirected.

    Without that, a real certificate could not be issued for the site.
    """
    response = requests.get(
        f"{stack.http_url}/.well-known/acme-challenge/no-such-token", allow_redirects=False, timeout=30
    )
    # nothing is there in the test stack: NGINX looks for the file instead of redirecting
    assert response.status_code == 404
    assert "Location" not in response.headers


# --- TLS ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["TLSv1.2", "TLSv1.3"]
)
def test_modern_tls_versions_are_accepted(stack, version):
    """Clients speaking TLS 1.2 or 1.3 connect, verifying the stack's certificate for localhost."""
    negotiated, _ = tls_handshake(stack, version)
    assert negotiated == version.name.replace("_", ".")  # "TLSv1.2", "TLSv1.3"


@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["TLSv1.0", "TLSv1.1"]
)
def test_obsolete_tls_versions_are_refused_by_the_server(stack, version):
    """TLS 1.0 and 1.1 are refused by NGINX itself.

    OpenSSL 3 will not offer these versions at its default security level, so
    the client lowers it (``@SECLEVEL=0``) and really offers them; the failure
    must then be the server's "protocol version" alert, not a client that
    never tried.
    """
    with pytest.raises(ssl.SSLError) as refused:
        tls_handshake(stack, version, ciphers="DEFAULT:@SECLEVEL=0")
    reason = str(refused.value)
    assert "ALERT_PROTOCOL_VERSION" in reason.upper().replace(" ", "_"), reason


def test_http2_is_offered(stack):
    """Browsers get HTTP/2, negotiated with ALPN during the TLS handshake."""
    _, protocol = tls_handshake(stack, ssl.TLSVersion.TLSv1_3, alpn=["h2", "http/1.1"])
    assert protocol == "h2"


# --- headers ------------------------------------------------------------------------


def assert_security_headers(response):
    headers = response.raw.headers
    hsts = headers.getlist("Strict-Transport-Security")
    assert len(hsts) == 1, f"expected one HSTS header, got {hsts}"
    max_age = re.search(r"max-age=(\d+)", hsts[0])
    assert max_age and int(max_age[1]) >= ONE_YEAR, hsts[0]
    assert "includeSubDomains" in hsts[0]
    assert headers.getlist("X-Content-Type-Options") == ["nosniff"]
    assert headers.getlist("X-Frame-Options") == ["DENY"]
    assert len(headers.getlist("Referrer-Policy")) == 1
    csp = headers.getlist("Content-Security-Policy")
    assert len(csp) == 1 and "frame-ancestors 'none'" in csp[0], csp
    assert not re.search(r"nginx/\d", response.headers.get("Server", "")), response.headers.get("Server")


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/course/no-such-course/"])
def test_pages_carry_hsts_and_security_headers(stack, path):
    """Every page, error pages included, pins HTTPS for a year and forbids framing and foreign scripts."""
    response = get(stack, path)
    assert response.status_code in (200, 404)
    assert_security_headers(response)


def test_static_files_carry_hsts_and_security_headers(stack):
    """Files served by NGINX itself get the same security headers as pages."""
    assert_security_headers(get(stack, stylesheet_path(stack)))
    assert_security_headers(get(stack, "/static/favicon.svg"))


def test_server_version_is_not_disclosed(stack):
    """Neither the Server header nor NGINX's own error pages reveal the NGINX version."""
    response = get(stack, "/static/no-such-file.css")
    assert response.status_code == 404
    assert response.headers.get("Server", "nginx") == "nginx"
    assert not re.search(r"nginx/\d", response.text)


# --- static files -------------------------------------------------------------------


def test_hashed_static_files_are_cached_for_a_year_and_compressed(stack):
    """The stylesheet a page links to is cached by browsers for a year and sent gzip-compressed."""
    path = stylesheet_path(stack)
    response = get(stack, path, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    cache_control = response.headers["Cache-Control"]
    assert "max-age=31536000" in cache_control and "immutable" in cache_control
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers.get("Vary", "")
    css = gzip.decompress(response.raw.read())
    assert b"{" in css and b"}" in css

    # a client that cannot decompress gets the very same file uncompressed
    plain = get(stack, path, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.content == css


def test_unhashed_static_names_are_cached_briefly(stack):
    """A file asked for by its plain name may change on the next deploy, so browsers keep it only briefly."""
    response = get(stack, "/static/favicon.svg")
    assert response.status_code == 200
    assert "immutable" not in response.headers["Cache-Control"]


# --- hosts and uploads --------------------------------------------------------------


def test_unknown_host_is_refused_over_https(stack):
    """A request naming a host the site does not serve is refused, not answered with the site."""
    response = get(stack, "/", headers={"Host": "evil.example"})
    assert 400 <= response.status_code < 500
    assert "educa" not in response.text


@pytest.mark.parametrize("server_name", ["evil.example", None], ids=["other-name", "no-name"])
def test_tls_for_another_name_gets_no_certificate(stack, server_name):
    """A TLS client naming another host (or none, as address scanners do) is refused during
    the handshake: it never receives the site's certificate, which would tell it the site's
    names. The site's own name, over the same socket code, is served."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("localhost", stack.https_port), timeout=10) as raw,
        pytest.raises(ssl.SSLError) as refused,
    ):
        context.wrap_socket(raw, server_hostname=server_name)
    print(f"\nTLS for {server_name!r}: {refused.value}")
    with (
        socket.create_connection(("localhost", stack.https_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=stack.host) as tls,
    ):
        assert tls.getpeercert(binary_form=True)


def test_unknown_host_is_refused_over_http(stack):
    """Plain HTTP for an unknown host is refused, never redirected to that host."""
    response = requests.get(
        f"{stack.http_url}/", headers={"Host": "evil.example"}, allow_redirects=False, timeout=30
    )
    assert 400 <= response.status_code < 500
    assert "evil.example" not in response.headers.get("Location", "")


def test_upload_over_the_limit_is_refused_by_nginx(stack):
    """A body over the upload limit is cut off by NGINX with 413 before it reaches Django."""
    too_big = (int(stack.env["UPLOAD_MAX_MB"]) + 2) * 1024 * 1024
    response = requests.post(
        f"{stack.base_url}/course/module/1/content/file/create/",
        files={"file": ("big.pdf", b"\0" * too_big, "application/pdf")},
        data={"title": "Too big"},
        verify=str(stack.ca_file),
        allow_redirects=False,
        timeout=60,
    )
    # Django would have sent an anonymous visitor to the login page (302) or
    # refused the missing CSRF token (403); only NGINX answers 413 here.
    assert response.status_code == 413


# --- readiness and processes --------------------------------------------------------


def test_readyz_is_not_public(stack):
    """From outside, /readyz is a plain 404: nobody can make the site run its database and Redis
    checks at will, nor learn which backend is failing (the stack asks on NGINX's loopback)."""
    for client_get in (get, lambda stack, path: get(stack, path, headers={"X-Forwarded-For": "127.0.0.1"})):
        response = client_get(stack, "/readyz")
        assert response.status_code == 404
        for word in ("database", "cache", "channel_layer"):
            assert word not in response.text
    assert get(stack, "/healthz").status_code == 200


@pytest.mark.parametrize("service", ["web", "daphne", "scheduler", "backup", "nginx", "db", "cache"])
def test_main_process_does_not_run_as_root(stack, service):
    """A break-in through any service lands as an unprivileged user, never root."""
    status = stack.exec(service, "cat", "/proc/1/status").stdout
    uids = re.search(r"^Uid:\s+(.*)$", status, re.MULTILINE)
    assert uids, status
    real, effective, saved, filesystem = (int(uid) for uid in uids[1].split())
    assert 0 not in (real, effective, saved, filesystem), f"{service} PID 1 runs with uids {uids[1]}"
