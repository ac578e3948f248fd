# syntax=docker/dockerfile:1.10
#
# The one `gdt` binary, for `gdt worker` (the default command) and `gdt serve`:
#   docker build -t gdt --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run --read-only gdt            # gdt worker
#   docker run --read-only gdt serve      # the API, webhooks and health endpoints
# Needs BuildKit (the default builder of Docker 23+ and of `docker buildx`) for the cache mounts.
#
# Base images are pinned by exact tag. They are not pinned by digest because no registry could be
# reached where this file was written, so no digest could be read and checked; pin them with
# `docker buildx imagetools inspect IMAGE:TAG` (or let Renovate/Dependabot do it) by appending
# `@sha256:…` to each FROM line. Keep RUST_VERSION at or above Cargo.toml's rust-version.

ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-bookworm AS builder

# protoc: the Temporal SDK's build script (temporalio-protos) compiles Temporal's API protos
# with it. They import google/protobuf/field_mask.proto, which the SDK does not vendor: protoc
# finds it in /usr/include, from libprotobuf-dev (only a Recommends of protobuf-compiler, so it
# is named here). Bookworm's versions, as scripts/bootstrap.sh installs them on a developer's
# machine; a Debian point release that replaces them needs these pins bumped.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        protobuf-compiler=3.21.12-3+deb12u1 \
        libprotobuf-dev=3.21.12-3+deb12u1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# The registry and the target directory are BuildKit cache mounts, so a rebuild after a code
# change compiles only what changed; the binary is copied out of the cache mount in the same
# step because the mount is not part of the image. --locked: Cargo.lock is the truth.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p gdt \
    && install -D -m 0755 target/release/gdt /out/gdt

# distroless/cc: glibc, libgcc, CA certificates (rustls reads the system roots) and tzdata, and
# no shell or package manager. The :nonroot variant's user is 65532.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime

# Set by CI (.github/workflows/ci.yml): the version, the commit and the repository's URL.
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="gdt" \
      org.opencontainers.image.description="GitHub deployment tracker: Temporal worker (gdt worker) and webhook/API server (gdt serve)" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

COPY --from=builder /out/gdt /usr/local/bin/gdt

# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 65532:65532

# The process writes no file (`gdt dev`'s .gdt/dev/ is not used here), so the root filesystem
# can be mounted read-only. Configuration comes from GDT_* variables, a mounted
# /etc/github-deployment-tracker/config.yaml or --config; secrets from mounted files.
# 3000: server.listen (API, /webhook; gdt serve). 8080: app.health_port (/health, /ready).
# 9090: app.metrics_port (/metrics). There is no HEALTHCHECK: the image has no shell or curl,
# and the orchestrator probes /health and /ready itself (Kubernetes probes; see
# deploy/compose/README.md for the compose stack).
EXPOSE 3000 8080 9090

ENTRYPOINT ["/usr/local/bin/gdt"]
CMD ["worker"]
