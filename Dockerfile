# syntax=docker/dockerfile:1
# Multi-stage build: compile with the `dist` profile (fat LTO), ship a slim Debian runtime.
#   docker build -t harmonomics .
#   docker run --rm -v "$PWD:/data" -w /data harmonomics run --config cohort.toml --out results
# BASE_BUILD / BASE_RUNTIME can point at locally built images where registries are unreachable
# (CI imports Debian roots made with debootstrap: .ci/container.sh); CARGO_PROFILE=release skips
# the fat LTO of `dist` for a quicker build, CARGO_PROFILE=dev skips optimisation (CI's choice: the
# outputs are byte-identical whatever the profile, and the run checks that).
ARG BASE_BUILD=rust:1-bookworm
ARG BASE_RUNTIME=debian:bookworm-slim

FROM ${BASE_BUILD} AS build
ARG CARGO_PROFILE=dist
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY src ./src
COPY benches ./benches
COPY test-data ./test-data
RUN cargo build --locked --profile ${CARGO_PROFILE} --bin harmonomics \
 && if [ "${CARGO_PROFILE}" = dev ]; then dir=debug; else dir=${CARGO_PROFILE}; fi \
 && cp target/$dir/harmonomics /usr/local/bin/harmonomics \
 && rm -rf target

FROM ${BASE_RUNTIME}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="harmonomics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.description="Harmonise longitudinal multi-omics cohorts into Parquet matrices"
# procps: Nextflow reads task metrics with ps.
# The fixture under the home directory too, so `docker run IMAGE run` runs it as `harmonomics run` does.
RUN apt-get update && apt-get install -y --no-install-recommends procps ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 harmonomics \
 && ln -s /opt/harmonomics/test-data /home/harmonomics/test-data
COPY --from=build /usr/local/bin/harmonomics /usr/local/bin/harmonomics
COPY --from=build /src/test-data /opt/harmonomics/test-data
USER harmonomics
WORKDIR /home/harmonomics
ENTRYPOINT ["harmonomics"]
CMD ["--help"]
