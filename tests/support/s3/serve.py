"""moto's S3 as a WSGI application, for gunicorn (see the Dockerfile beside this file).

S3 alone, whatever the Host header: the stack reaches it with path-style URLs.
Objects live in this one process's memory, so gunicorn runs one worker.
"""

from moto.server import create_backend_app

application = create_backend_app("s3")
