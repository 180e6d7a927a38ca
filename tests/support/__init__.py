"""Everything the test layers share, in one place.

- ``system``: the repository's location, free ports, the one polling loop.
- ``prerequisites``: what each layer needs, and the message naming what to install.
- ``stack``: booting the production compose stack and reaching into it.
- ``plugin``: the pytest plugin that hands a booted stack to a test session
  (this suite's stack and browser layers, and anyone else's CI).
- ``site``: a person using the site over HTTP(S), forms and CSRF included.
- ``chat``: the chat's WebSockets, every TLS connection driven by one thread,
  and a client that reconnects, catches up and sends again as the page does.
- ``journeys``: what students and instructors do, built from the two above.
- ``acme``: certificates as a client sees them, and Pebble (a test ACME CA) beside a stack.
- ``processes``: educa's own servers (Daphne, uWSGI) run by the integration layer.
- ``local_server``: ``runserver`` (Daphne) with the local settings, stopped and started at will.
- ``settings``: a complete production environment, and a clean one for subprocesses.
- ``browser``: Chromium through Playwright, trusting the stack, watched for errors.
"""
