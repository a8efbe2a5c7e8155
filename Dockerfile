# Seam in a container (docs/production.md, "Docker"):
#   docker build -t seam .
#   docker run -d --name seam -p 4000:4000 -v seam-data:/data seam
#   docker exec seam seam keys create --tenant my-team
# The image runs `seam serve` as an unprivileged user with /etc/seam/seam.toml (the default
# in deploy/docker/ uses the built-in simulated upstream: mount your own) and the SQLite store
# and records spool on the /data volume. Needs BuildKit (Docker's default builder since 23.0).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates crates
# The demo embeds examples/prompts/support-bot.toml.
COPY examples examples
# Without the debug info the release profile keeps for profiling: a smaller image.
ENV CARGO_PROFILE_RELEASE_DEBUG=0
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p seam \
    && cp target/release/seam /usr/local/bin/seam

FROM debian:bookworm-slim
# ca-certificates: providers' TLS is verified against the system's roots.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 seam \
    && useradd --system --uid 10001 --gid seam --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin seam \
    && mkdir -p /data /etc/seam \
    && chown seam:seam /data
COPY --from=build /usr/local/bin/seam /usr/local/bin/seam
COPY deploy/docker/seam.toml /etc/seam/seam.toml
USER seam:seam
# CLI commands find the config here: `docker exec seam seam calls` needs no --config.
WORKDIR /etc/seam
VOLUME ["/data"]
EXPOSE 4000
# GET /healthz on the default config's port, with bash alone (the image has no curl).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/4000 && printf 'GET /healthz HTTP/1.1\\r\\nHost: seam\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
# SIGTERM: calls in flight get server.shutdown_grace_secs (30 s by default; give `docker stop`
# a longer --time), then records are flushed or spooled.
STOPSIGNAL SIGTERM
ENTRYPOINT ["seam"]
CMD ["serve", "--config", "/etc/seam/seam.toml"]
