# syntax=docker/dockerfile:1
#
# lea-notices container image.
#
#   docker build -t lea-notices:0.1.0 .
#   docker run --rm -p 50051:50051 -e DATABASE_URL=postgres://... lea-notices:0.1.0
#   docker run --rm lea-notices:0.1.0 migrate
#
# Without DATABASE_URL the service uses an embedded SQLite file in
# /var/lib/lea-notices (mount a volume there to keep it). With PostgreSQL it
# writes nothing to disk, so it runs with a read-only root filesystem.

ARG RUST_IMAGE=rust:1.95-bookworm
# glibc 2.36 (Debian 12), matching the bookworm builder; no shell, no package manager.
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# ---------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS builder
WORKDIR /build
ENV CARGO_TERM_COLOR=never

# Dependency layer: only the manifests and stub targets, so this (slow) layer
# is rebuilt only when Cargo.toml or Cargo.lock change. The stub build.rs makes
# cargo compile the build-dependencies (protox, tonic-prost-build) here too.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && echo 'fn main() {}' > build.rs \
 && cargo build --release --locked \
 && rm -rf src build.rs

# The crate itself. build.rs compiles proto/ with protox (no protoc needed);
# SQL migrations and calendar data under src/ and the letters' fonts under
# assets/ are embedded at compile time.
COPY build.rs ./
COPY proto ./proto
COPY assets ./assets
COPY src ./src
# COPY keeps the files' mtimes, which can be older than the stub build above;
# touching them makes cargo rebuild the crate and rerun build.rs.
RUN touch build.rs src/lib.rs src/main.rs \
 && cargo build --release --locked \
 && install -D -m 0755 target/release/lea-notices /out/usr/local/bin/lea-notices \
 && install -d -m 0750 /out/var/lib/lea-notices

# ---------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="lea-notices" \
      org.opencontainers.image.description="School-attendance enforcement gRPC service for English local authorities" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"

COPY --from=builder /out/usr/local/bin/lea-notices /usr/local/bin/lea-notices
# Data directory of the SQLite default, owned by the runtime user.
COPY --from=builder --chown=65532:65532 /out/var/lib/lea-notices /var/lib/lea-notices

ENV LEA_NOTICES_LISTEN_ADDR=0.0.0.0:50051 \
    LEA_NOTICES_DATA_DIR=/var/lib/lea-notices \
    LEA_NOTICES_LOG_FORMAT=json
WORKDIR /var/lib/lea-notices

# Numeric, so Kubernetes' runAsNonRoot can verify it (distroless "nonroot").
USER 65532:65532

# 50051: gRPC (and grpc.health.v1); 9090: Prometheus metrics, once served.
EXPOSE 50051 9090
# `serve` exits cleanly on SIGTERM, letting in-flight calls finish.
STOPSIGNAL SIGTERM
ENTRYPOINT ["lea-notices"]
CMD ["serve"]
