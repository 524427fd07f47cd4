# syntax=docker/dockerfile:1
#
# One image, three processes. The fixes service, the script-builder service and
# the gateway are one Python distribution (`flowpilot-fix-services`) with one
# dependency set and one console script; each Kubernetes Deployment picks its
# process with `flowpilot serve <fixes|scriptbuilder|gateway>` and each
# migration Job runs `flowpilot migrate <service>`. One image means one build,
# one vulnerability scan, one signature, and the three processes can never run
# mismatched versions of the shared runtime or the generated gRPC stubs.
#
# Reproducible: the base is pinned by digest, every Python package comes from
# requirements/runtime.lock with its hashes (the versions CI tested), the
# project itself is installed without resolving anything, and bytecode is
# compiled without timestamps. Build with the source labels filled in:
#   docker build \
#     --build-arg VCS_REF="$(git rev-parse HEAD)" \
#     --build-arg VERSION="$(git describe --tags --always)" \
#     --build-arg SOURCE_URL=https://git.example.com/flowpilot/fix-services \
#     -t REGISTRY/flowpilot:VERSION .
#
# The base is pinned by the digest of its multi-arch index, the same in both
# stages (a test checks). To bump it (deploy/README.md, "The image"), look the
# digest up, e.g.
#   docker buildx imagetools inspect python:3.11-slim-bookworm --format '{{json .Manifest.Digest}}'
#   (or: crane digest python:3.11-slim-bookworm)
# and replace it in both FROM lines; Renovate's and Dependabot's docker
# managers do exactly that.

# --- web stage: the console's bundle (gateway/web → dist), from package-lock.json.
# Pinned by digest like the Python base (the same multi-arch index digest is
# pinned by several public projects); bump it the same way.
FROM node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0 AS web
WORKDIR /web
COPY gateway/web/package.json gateway/web/package-lock.json ./
# No install scripts: none is needed, and @scarf/scarf (a dependency of
# swagger-ui-dist, Swagger UI for /docs) would phone home from the build.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY gateway/web/ ./
RUN npm run build

# --- build stage: install the locked dependencies and the project into a venv --
FROM python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# Every dependency ships manylinux wheels for CPython 3.11 (grpcio, asyncpg,
# uvloop, ...), so no compiler is needed and none is allowed (--only-binary).
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# The locks first, so the dependency layer is cached until a lock changes.
# build.lock pins the build backend (setuptools) the project is built with.
COPY requirements/runtime.lock requirements/build.lock requirements/
RUN pip install --no-compile --only-binary=:all: --require-hashes --no-deps \
        -r requirements/runtime.lock -r requirements/build.lock
# .dockerignore admits only what the wheel needs (see it for the list).
COPY . .
# The console's bundle, built in the web stage, ships as package data.
COPY --from=web /web/dist gateway/web/dist
# The project itself, without resolving anything (its dependencies are all
# above), then bytecode compiled once without timestamps (the root filesystem
# is read-only at run time), then the installers leave the venv.
RUN pip install --no-compile --no-deps --no-build-isolation . \
    && python -m compileall -q --invalidation-mode unchecked-hash /opt/venv/lib \
    && pip uninstall --yes pip setuptools wheel

# --- runtime stage: interpreter + venv, nothing else -------------------------
FROM python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b AS runtime

# OCI annotations: where the image comes from and which commit it is.
ARG VCS_REF=unknown
ARG VERSION=0.1.0
ARG SOURCE_URL=unknown
LABEL org.opencontainers.image.title="flowpilot-fix-services" \
      org.opencontainers.image.description="FlowPilot fixes service, script-builder service and REST gateway (one image, entrypoint flowpilot)" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim-bookworm"

# A numeric, non-root user that owns nothing in the image: Kubernetes'
# runAsNonRoot can only verify a numeric USER. The base's own pip/setuptools
# are removed too, so nothing in the final image installs or builds code.
RUN groupadd --system --gid 10001 flowpilot \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /tmp --shell /usr/sbin/nologin flowpilot \
    && python -m pip uninstall --yes pip setuptools wheel

COPY --from=build /opt/venv /opt/venv

# HOME and the data dir point at /tmp, the only writable path in the cluster
# (an emptyDir); logs go to stderr as JSON.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    FLOWPILOT_DATA_DIR=/tmp/flowpilot \
    FLOWPILOT_BIND_HOST=0.0.0.0

WORKDIR /tmp
USER 10001:10001

# Documentation only; the Deployments name these ports grpc / http.
EXPOSE 50051 50052 8080

# No HEALTHCHECK: Kubernetes ignores it; each Deployment probes its process
# (gRPC health for the services, /healthz and /readyz/local for the gateway).
ENTRYPOINT ["flowpilot"]
CMD ["--help"]
