# The educa application image: one image for every Python process of the stack
# (uWSGI for HTTP, Daphne for WebSockets, the one-shot migrate step).
#
#   docker build -t educa:latest .
#   docker build --build-arg PYTHON_VERSION=3.13 -t educa:latest .
#
# Three stages: the builder installs the lock (requirements.txt: every package
# pinned, with the hashes of its files) into a virtualenv; "system" is the
# Python base image with the application's user and without the tools that
# only install software (apt, perl, pip); the final image starts from nothing
# and copies the two, then the code. Every dependency ships as a wheel, so no
# stage needs a compiler.
#
# The final image is three layers: the system (changes with the base image),
# the virtualenv (with requirements.txt) and the code, so a deploy of new code
# ships only the last one. Removing files in a stage built FROM the base would
# not make the image smaller: the base's layers would still hold them.

ARG PYTHON_VERSION=3.13

# --------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

# No pip inside the virtualenv: it is only needed to build it, so the base
# image's pip installs into it from outside (--python).
RUN python -m venv --without-pip /opt/venv

# strip, to remove the debugging symbols some wheels' libraries carry (11 MB)
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && rm -rf /var/lib/apt/lists/*

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
    # GeoDjango (not installed) and the FlatBuffers compiler autobahn bundles
    # for its own code generation.
    && rm -rf "$site/django/contrib/gis" "$site/autobahn/_flatc" /opt/venv/bin/flatc \
    && find "$site" -type d -empty -delete \
    # --strip-unneeded keeps the symbols the dynamic loader needs.
    && find "$site" -type f \( -name '*.so' -o -name '*.so.*' \) -exec strip --strip-unneeded {} + \
    # uWSGI re-executes the bare interpreter when it reloads (SIGHUP, autoreload);
    # a version-independent path to the virtualenv's packages lets the final
    # stage put them on PYTHONPATH so that re-executed process finds them too.
    && ln -s "$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
        /opt/venv/site-packages \
    && /opt/venv/bin/python -c "import django, channels, daphne, psycopg, redis, pyuwsgi, PIL, drf_spectacular, markdown_it"

# --------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS system

# A fixed uid/gid: NGINX joins this group (config/nginx/Dockerfile) to reach the
# uWSGI socket and read uploaded media, and volumes keep the same owner across
# image rebuilds.
ARG APP_UID=10001
ARG APP_GID=10001

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

# Nothing at run time installs software: the package manager (apt and its
# keys), perl and debconf (which only its package scripts use), pip and
# ensurepip, Python's own test suite and glibc's character-set converters
# (Python has its own codecs) go, about 40 MB. They are purged with dpkg, so
# its database still lists exactly what the image holds, for scanners.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN dpkg-query -W -f='${db:Status-Status} ${Package}\n' | awk '$1 == "installed" {print $2}' \
        | grep -xE 'apt|libapt-pkg[0-9.]*|sqv|gpgv|debian-archive-keyring|perl-base|debconf|python3-(pip|setuptools)-whl' \
        | xargs dpkg --purge --force-remove-essential --force-depends \
    && stdlib=$(python -c 'import sysconfig; print(sysconfig.get_path("stdlib"))') \
    && rm -rf "$stdlib/ensurepip" "$stdlib/test" /usr/local/bin/pip* \
        /usr/local/lib/python3*/site-packages/pip* /usr/local/lib/python3*/dist-packages/pip* \
        /usr/lib/*-linux-gnu/gconv /etc/apt /var/lib/apt /var/cache/apt /var/cache/debconf /var/log/* \
    && ! command -v apt-get && ! command -v perl && ! command -v pip

# --------------------------------------------------------------------------
FROM scratch

LABEL org.opencontainers.image.title="educa" \
      org.opencontainers.image.description="educa e-learning platform: Django (uWSGI) and Channels (Daphne)"

# The whole file system of "system" is the point of this stage (DL3067 warns
# against copying one): it is the base image without what was removed above.
# hadolint ignore=DL3067
COPY --from=system / /

ARG APP_UID=10001
ARG APP_GID=10001

# The base image's own settings (PATH, LANG) are not inherited from scratch.
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHONPATH=/opt/venv/site-packages \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=educa.settings.prod \
    STATIC_ROOT=/srv/educa/static \
    MEDIA_ROOT=/srv/educa/media

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
