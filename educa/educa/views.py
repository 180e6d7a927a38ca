from django.shortcuts import redirect
from django.templatetags.static import static


def favicon(request):
    # Browsers ask for /favicon.ico whatever the page says; point them at the
    # hashed static file so it gets the long cache headers.
    return redirect(static("favicon.svg"))
