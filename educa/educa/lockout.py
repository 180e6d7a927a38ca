"""The answer to a sign-in that django-axes has locked out.

axes can render a template, but only with its own status and no
Retry-After; this says both what happened and when to try again, like the
other "too many requests" answers of the site (NGINX's and the API's).
"""

import math

from axes.helpers import get_cool_off
from django.shortcuts import render


def locked_out(request, original_response=None, credentials=None):
    """429 with the lockout page and the seconds until the lockout ends."""
    seconds = max(1, math.ceil(get_cool_off(request).total_seconds()))
    # rendered here: the answer comes from axes' middleware, after the view
    context = {"minutes": math.ceil(seconds / 60)}
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
