# Bifrost: one image for the API (`serve`, the default), the workers (`worker`) and the CLI
# (`docker run -i --rm bifrost analyze - < build.log`).
#
# The base is Debian's slim Python 3.11, in both stages. A release pins it by digest, as the
# registry reports it when the release is cut (no registry is reachable where this file was
# written, so no digest is recorded yet):
#   docker buildx imagetools inspect python:3.11-slim-bookworm   # → sha256:…
#   then: FROM python:3.11-slim-bookworm@sha256:… in both stages below

# --- build: the wheel, from the source tree alone -------------------------------------------
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2.post1
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m build --wheel --outdir /wheels

# --- runtime: the wheel and its extras, nothing else ----------------------------------------
FROM python:3.11-slim-bookworm
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="Bifrost" \
      org.opencontainers.image.description="Find the few lines that explain why a log failed." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

# Everything Bifrost writes goes under /tmp (an emptyDir or tmpfs), so the root filesystem can
# be read-only: the default SQLite history, the knowledge base's index cache, metrics files.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/cache \
    XDG_DATA_HOME=/tmp/data

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY --from=build /wheels /wheels
# DL3013 asks for pinned versions: this installs the wheel built above, whose dependencies'
# bounds are pyproject.toml's; hadolint cannot see that a local file is pinned by itself.
# hadolint ignore=DL3013
RUN wheel="$(ls /wheels/bifrost_logs-*.whl)" \
    && pip install --no-cache-dir "${wheel}[server,postgres,redis,worker,kafka,bedrock,memory]" \
    && rm -rf /wheels \
    && groupadd --system --gid 10001 bifrost \
    && useradd --system --uid 10001 --gid bifrost --home-dir /tmp --shell /usr/sbin/nologin bifrost

USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["bifrost"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
