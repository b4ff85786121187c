# The images of bukubesar, from one Dockerfile for the whole workspace. Build from the
# repository root, one target per binary:
#   docker build --target transaksi -t bukubesar/transaksi:0.1.0 .
#   docker build --target mutasi    -t bukubesar/mutasi:0.1.0 .
#   docker build --target operator  -t bukubesar/operator:0.1.0 .
# The three builds share every stage but the last: the workspace compiles once.
#
# Stages:
#   chef     the Rust toolchain plus cargo-chef
#   planner  the whole workspace (behind .dockerignore) reduced to a recipe of its manifests,
#            so a member added later is built without editing this file
#   build    the dependencies compiled from the recipe alone (a layer reused until a
#            Cargo.toml or Cargo.lock changes), then the workspace's binaries
#   transaksi, mutasi, operator
#            distroless runtime: glibc, libgcc, libssl, CA bundle, uid 65532, no shell, no
#            package manager; the binary and bukubesar-healthcheck (a std-only HTTP probe)
#
# Base images are build arguments. The defaults are Docker Hub's and gcr.io's; an air-gapped
# build uses the ones scripts/airgap-images.sh makes from Debian packages (compose.airgap.yml).
# Behind a TLS-inspecting proxy, pass the proxy's CA bundle as the build secret `host_ca`
# (`--secret id=host_ca,src=/etc/ssl/certs/ca-certificates.crt`): cargo trusts it while it
# downloads crates, and it never lands in a layer.
# No credentials are built in: the services read DB_USER, DB_PASSWORD and REDIS_PASSWORD from
# the environment at run time; every other setting is a flag (`transaksi --help`).

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS chef
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN --mount=type=secret,id=host_ca \
    if [ -s /run/secrets/host_ca ]; then export CARGO_HTTP_CAINFO=/run/secrets/host_ca; fi; \
    cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
# The dependency layer: rebuilt only when the recipe (the manifests) changes.
RUN --mount=type=secret,id=host_ca \
    if [ -s /run/secrets/host_ca ]; then export CARGO_HTTP_CAINFO=/run/secrets/host_ca; fi; \
    cargo chef cook --release --locked --recipe-path recipe.json --workspace --bins
# The sources; the migrations are embedded into transaksi and mutasi at compile time.
COPY . .
RUN cargo build --release --locked --offline --workspace --bins \
 && install -D -m 0755 -t /out target/release/transaksi target/release/mutasi \
      target/release/operator target/release/bukubesar-healthcheck

# Runtime images. HEALTHCHECK is Docker's own health status (docker-compose.yml states its
# own check; Kubernetes ignores it, the operator sets httpGet probes on /readyz and /healthz).
# The image has no shell or curl, so the probe is bukubesar-healthcheck in exec form.

FROM ${RUNTIME_IMAGE} AS operator
COPY --from=build /out/operator /out/bukubesar-healthcheck /usr/local/bin/
# uid 65532, as the Helm chart's securityContext (runAsUser 65532) expects. /healthz, /readyz
# and /metrics are on --health-addr (default 0.0.0.0:8090).
USER 65532:65532
EXPOSE 8090
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/bukubesar-healthcheck", "http://127.0.0.1:8090/healthz"]
ENTRYPOINT ["/usr/local/bin/operator"]
CMD ["run"]

FROM ${RUNTIME_IMAGE} AS mutasi
COPY --from=build /out/mutasi /out/bukubesar-healthcheck /usr/local/bin/
USER 65532:65532
EXPOSE 8081 9181
# /readyz is 200 once its database, the credential table and Redis answer (default --port 8081)
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/bukubesar-healthcheck", "http://127.0.0.1:8081/readyz"]
ENTRYPOINT ["/usr/local/bin/mutasi"]

FROM ${RUNTIME_IMAGE} AS transaksi
COPY --from=build /out/transaksi /out/bukubesar-healthcheck /usr/local/bin/
USER 65532:65532
EXPOSE 8080 9180
# /readyz is 200 once the database answers (default --port 8080)
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/bukubesar-healthcheck", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/transaksi"]
