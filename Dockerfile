# syntax=docker/dockerfile:1
#
# One image, three processes. The fixes service, the script-builder service and
# the gateway are one Python distribution (`flowpilot-fix-services`) with one
# dependency set and one console script; each Kubernetes Deployment picks its
# process with `flowpilot serve <fixes|scriptbuilder|gateway>` and its init
# container with `flowpilot migrate <service>`. One image means one build, one
# vulnerability scan, one signature, and the three processes can never run
# mismatched versions of the shared runtime or the generated gRPC stubs.
# Per-service images would save nothing: their dependencies are the same.
#
# Pin the base by digest in your build pipeline, e.g.
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest> .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# --- web stage: the console's bundle (gateway/web → dist), from package-lock.json
FROM ${NODE_IMAGE} AS web
WORKDIR /web
COPY gateway/web/package.json gateway/web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY gateway/web/ ./
RUN npm run build

# --- build stage: resolve and install into a self-contained virtualenv -------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# Every dependency ships manylinux wheels for CPython 3.11 (grpcio, asyncpg,
# uvloop, ...), so no compiler is needed; if one ever is, install it here and
# only here.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# .dockerignore admits only what the wheel needs (see it for the list).
COPY . .
COPY --from=web /web/dist gateway/web/dist
# Install the project (not editable), compile bytecode now because the root
# filesystem is read-only at run time, then drop the installers from the venv.
RUN pip install . \
    && python -m compileall -q /opt/venv/lib \
    && pip uninstall --yes pip setuptools wheel

# --- runtime stage: interpreter + venv, nothing else -------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="flowpilot-fix-services" \
      org.opencontainers.image.description="FlowPilot fixes service, script-builder service and REST gateway (one image, entrypoint flowpilot)"

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

ENTRYPOINT ["flowpilot"]
CMD ["--help"]
