"""schemathesis signs its requests in as a student (loaded with SCHEMATHESIS_HOOKS).

Through its auth hook rather than a raw Cookie header, so schemathesis knows
the session cookie is the credential: its negative cases leave the cookie out
to see the request refused, and a header would have put it back.
"""

import os

import schemathesis


@schemathesis.auth()
class StudentSession:
    """The session and CSRF token of a signed-in browser, from the test's environment."""

    def get(self, case, context):
        return os.environ["EDUCA_FUZZ_SESSIONID"], os.environ["EDUCA_FUZZ_CSRFTOKEN"]

    def set(self, case, data, context):
        session, token = data
        case.cookies = {**(case.cookies or {}), "sessionid": session, "csrftoken": token}
        case.headers = {**(case.headers or {}), "X-CSRFToken": token}
