"""A person using the site: one HTTP client for every layer that talks to a server.

``SiteClient`` is a ``requests`` session bound to one site. Paths are
relative to it; forms are posted the way a browser posts them (CSRF token
from the cookie, a same-origin Referer); TLS is verified against the CA file
given (the stack's own certificate), never turned off.

Over plain HTTP (the integration layer's servers with production settings,
``runserver``) production's ``Secure`` cookies would never be sent back, so
the flag is dropped as they arrive and redirects are followed one hop at a
time for that.
"""

import re
from urllib.parse import urljoin

import requests

TIMEOUT = 30
MAX_REDIRECTS = 10


class SiteClient(requests.Session):
    def __init__(self, base_url, ca_file=None):
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.plain_http = self.base_url.startswith("http://")
        if ca_file is not None:
            self.verify = str(ca_file)
        # REQUESTS_CA_BUNDLE would silently replace ``verify``, and proxies
        # from the environment must never see these local servers.
        self.trust_env = False

    def url(self, path):
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def request(self, method, url, allow_redirects=True, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT)
        url = self.url(url)
        if not self.plain_http:
            return super().request(method, url, allow_redirects=allow_redirects, **kwargs)
        for _ in range(MAX_REDIRECTS):
            response = super().request(method, url, allow_redirects=False, **kwargs)
            for cookie in self.cookies:
                cookie.secure = False
            if not (allow_redirects and response.is_redirect):
                return response
            url = urljoin(url, response.headers["Location"])
            method, kwargs = "GET", {"timeout": kwargs["timeout"]}
        raise AssertionError(f"more than {MAX_REDIRECTS} redirects from {url}")

    def copy(self):
        """A new client for the same site with this one's cookies (one per thread)."""
        other = SiteClient(self.base_url)
        other.verify = self.verify
        other.cookies.update(self.cookies)
        return other

    # --- forms ----------------------------------------------------------------

    def csrf_token(self, form_path="/accounts/login/"):
        if "csrftoken" not in self.cookies:
            self.get(form_path)
        token = self.cookies.get("csrftoken")
        assert token, f"GET {form_path} set no csrftoken cookie"
        return token

    def post_form(self, path, data, form_path=None, files=None):
        """GET the form at ``form_path`` (default ``path``), then POST ``data`` to ``path``.

        ``files`` makes it a multipart upload (requests' format). Redirects are
        not followed, so the caller sees where the site sends the user.
        """
        form_url = self.url(form_path or path)
        page = self.get(form_url)
        assert page.status_code == 200, f"GET {form_url}: {page.status_code}"
        return self.post(
            path,
            data={"csrfmiddlewaretoken": self.csrf_token(), **data},
            files=files,
            headers={"Referer": form_url},
            allow_redirects=False,
        )

    def post_json(self, path, payload, headers=None, **kwargs):
        """POST JSON as the project's scripts do, with the token in X-CSRFToken (plus ``headers``)."""
        headers = {"X-CSRFToken": self.csrf_token(), "Referer": self.url("/"), **(headers or {})}
        return self.post(path, json=payload, headers=headers, **kwargs)

    # --- what users do ----------------------------------------------------------

    def log_in(self, username, password):
        """Sign in through /accounts/login/; return the response (a redirect)."""
        response = self.post_form("/accounts/login/", {"username": username, "password": password})
        assert response.status_code == 302, (
            f"login of {username} refused ({response.status_code}):\n{response.text[:2000]}"
        )
        assert self.cookies.get("sessionid"), f"login of {username} set no session"
        return response

    def register(self, username, password):
        """Sign up through /students/register/ (which signs the student in)."""
        response = self.post_form(
            "/students/register/",
            {
                "username": username,
                "email": f"{username}@example.com",
                "password1": password,
                "password2": password,
            },
        )
        assert response.status_code == 302, (
            f"registration of {username} refused ({response.status_code}):\n{response.text[:2000]}"
        )
        assert self.cookies.get("sessionid"), "registration did not sign the student in"
        return response

    def enrol(self, slug):
        """Press the enrol button on a course's public page; return the course's id."""
        page = f"/course/{slug}/"
        form = self.get(page)
        assert form.status_code == 200, f"GET {page}: {form.status_code}"
        found = re.search(r'name="course_id" value="(\d+)"', form.text)
        assert found, f"no enrol button on {page}"
        response = self.post_form("/students/enroll-course/", {"course_id": found[1]}, form_path=page)
        assert response.status_code == 302, f"enrolment refused ({response.status_code})"
        return int(found[1])
