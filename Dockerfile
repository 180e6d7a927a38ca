# The educa application image: one image for every Python process of the stack
# (uWSGI for HTTP, Daphne for WebSockets, the one-shot migrate step).
#
#   docker build -t educa:latest .
#   docker build --build-arg PYTHON_VERSION=3.13 -t educa:latest .
#
# Two stages: the builder installs the lock (requirements.txt: every package
# pinned, with the hashes of its files) into a virtualenv, the final stage
# copies only that virtualenv and the code. Every dependency ships as a wheel,
# so neither stage needs a compiler.

ARG PYTHON_VERSION=3.13

# --------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

# No pip inside the virtualenv: it is only needed to build it, so the base
# image's pip installs into it from outside (--python).
RUN python -m venv --without-pip /opt/venv

# Requirements before code: editing the application does not reinstall them.
COPY requirements.txt /tmp/requirements.txt
# --require-hashes: a file whose hash is not in the lock fails the build, and
# so does a dependency missing from it (pip still resolves, and refuses
# anything unpinned); pip check then proves the set complete. --only-binary:
# a dependency without a wheel fails here instead of silently needing a
# compiler.
RUN pip --python /opt/venv/bin/python install --require-hashes --only-binary=:all: -r /tmp/requirements.txt \
    && pip --python /opt/venv/bin/python check \
    # Nothing the running site never reads: the libraries' own test suites
    # (django/test is Django's test framework, a module like any other, and
    # stays), translation sources (.po; the compiled .mo are what Django
    # reads) and every translation but English, the site's only language.
    && site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
    && find "$site" -depth -type d \( -name tests -o -name test \) ! -path "$site/django/test" -exec rm -rf {} + \
    && find "$site" -name '*.po' -delete \
    && find "$site" -path '*/locale/*' -name '*.mo' ! -path '*/locale/en/*' ! -path '*/locale/en_*' -delete \
    # Of the API page's files, only Swagger UI's: not ReDoc, which no page
    # uses, nor the scripts' source maps, which nothing references.
    && rm -rf "$site/drf_spectacular_sidecar/static/drf_spectacular_sidecar/redoc" \
    && find "$site/drf_spectacular_sidecar" -name '*.js.map' -delete \
    && find "$site" -type d -empty -delete \
    # uWSGI re-executes the bare interpreter when it reloads (SIGHUP, autoreload);
    # a version-independent path to the virtualenv's packages lets the final
    # stage put them on PYTHONPATH so that re-executed process finds them too.
    && ln -s "$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
        /opt/venv/site-packages \
    && /opt/venv/bin/python -c "import django, channels, daphne, psycopg, redis, pyuwsgi, PIL, drf_spectacular, markdown_it"

# --------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim

LABEL org.opencontainers.image.title="educa" \
      org.opencontainers.image.description="educa e-learning platform: Django (uWSGI) and Channels (Daphne)"

# A fixed uid/gid: NGINX joins this group (config/nginx/Dockerfile) to reach the
# uWSGI socket and read uploaded media, and volumes keep the same owner across
# image rebuilds.
ARG APP_UID=10001
ARG APP_GID=10001

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/venv/site-packages \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=educa.settings.prod \
    STATIC_ROOT=/srv/educa/static \
    MEDIA_ROOT=/srv/educa/media

# Directories that become named volumes are created here with their owner and
# mode: an empty volume mounted on them inherits both.
#   /srv/educa/static  collected static files, read by NGINX (world-readable)
#   /srv/educa/media   uploads, read by NGINX through the shared group only
#   /run/educa         the uWSGI socket, shared with NGINX through the group
#   /srv/educa/secrets the secrets, copied there by compose's one-shot
#                      "secrets" service; the application user's alone
RUN groupadd --system --gid "${APP_GID}" educa \
    && useradd --system --uid "${APP_UID}" --gid educa --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin educa \
    && install -d -o educa -g educa -m 0755 /srv/educa /srv/educa/static \
    && install -d -o educa -g educa -m 0750 /srv/educa/media /run/educa \
    && install -d -o educa -g educa -m 0700 /srv/educa/secrets

COPY --from=builder /opt/venv /opt/venv

COPY wait-for-it.sh /usr/local/bin/wait-for-it.sh
COPY config/app/entrypoint.sh /usr/local/bin/educa-entrypoint
COPY config/uwsgi/ /app/config/uwsgi/
COPY config/daphne/ /app/config/daphne/
COPY educa/ /app/educa/

# Code and configuration belong to root and are read-only for the app user.
# /app/RELEASE: the id of this code and its dependencies (educa/release.py),
# which the release step records and new Swarm tasks wait for.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN chmod 0755 /usr/local/bin/wait-for-it.sh /usr/local/bin/educa-entrypoint \
    && chmod -R a+rX,go-w /app \
    && find /app /opt/venv -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum \
        | cut -c1-16 > /app/RELEASE \
    && chmod 0644 /app/RELEASE

# By number, so that a runtime can tell without the image's /etc/passwd that
# it is not root (e.g. Kubernetes' runAsNonRoot).
USER ${APP_UID}:${APP_GID}
WORKDIR /app/educa

# uWSGI's socket lives in a volume; Daphne listens on 8001 inside the network.
EXPOSE 8001

ENTRYPOINT ["educa-entrypoint"]
CMD ["uwsgi", "--ini", "/app/config/uwsgi/uwsgi.ini"]
