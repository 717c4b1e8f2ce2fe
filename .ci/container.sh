#!/usr/bin/env bash
# The container, built and run here although no registry image can be pulled: the Dockerfile's
# bases are Debian roots made with debootstrap and `docker import`ed (the build base carries this
# machine's Rust toolchain), dockerd runs with vfs storage and no networking of its own, and the
# fixture cohort run inside the image must give `harmonomics run`'s bytes.
#
# Usage: bash .ci/container.sh BINARY   (as root; from the repository root)
set -euo pipefail
BIN=$(realpath "$1")
W=$(mktemp -d /tmp/harmonomics-container.XXXXXX)
STARTED=""
# vfs keeps every layer as a full copy of the root (~1 GB each for the build stage), and this
# machine's dockerd state outlives the run: remove the image and its layers whatever happens, or
# repeated runs fill the disk (a CI run failed with "no space left on device" that way).
prune() {
  docker rmi harmonomics:ci >/dev/null 2>&1 || true
  docker image prune --force >/dev/null 2>&1 || true
}
cleanup() {
  prune
  [[ -n $STARTED ]] && kill "$STARTED" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io debootstrap >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  dockerd --storage-driver=vfs --iptables=false --bridge=none >"$W/dockerd.log" 2>&1 &
  STARTED=$!
  for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null || { cat "$W/dockerd.log"; exit 1; }
fi
docker version --format 'docker {{.Server.Version}}'
prune

# Bases: a minimal Debian 12 root for the runtime; the same plus gcc and the Rust toolchain that
# built this checkout for the build stage.
if ! docker image inspect harmonomics-ci/runtime:bookworm >/dev/null 2>&1; then
  debootstrap --variant=minbase bookworm "$W/runtime" http://deb.debian.org/debian >/dev/null
  tar -C "$W/runtime" -c . | docker import - harmonomics-ci/runtime:bookworm >/dev/null
fi
if ! docker image inspect harmonomics-ci/build:bookworm >/dev/null 2>&1; then
  debootstrap --variant=minbase --include=gcc,libc6-dev,ca-certificates bookworm "$W/build" \
    http://deb.debian.org/debian >/dev/null
  TOOLCHAIN=$(rustc --print sysroot)
  mkdir -p "$W/build/opt/rust/bin"
  cp "$TOOLCHAIN/bin/cargo" "$TOOLCHAIN/bin/rustc" "$W/build/opt/rust/bin/"
  cp -a "$TOOLCHAIN/lib" "$W/build/opt/rust/"
  # This machine's trust store, so cargo reaches crates.io through whatever proxy it reaches it by.
  cp /etc/ssl/certs/ca-certificates.crt "$W/build/etc/ssl/certs/ca-certificates.crt"
  tar -C "$W/build" -c . | docker import \
    --change 'ENV PATH=/opt/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV CARGO_HOME=/opt/cargo' - harmonomics-ci/build:bookworm >/dev/null
fi

# The image, from the Dockerfile users build (host networking for crates.io and Debian's apt).
# CARGO_PROFILE=dev compiles without optimisation (about 3 of the 7 minutes a release build takes on
# 2 cores); the fixture run below then also checks that an unoptimised build, with overflow checks
# and debug assertions, gives the release binary's bytes.
DOCKER_BUILDKIT=0 docker build --quiet --force-rm --network host \
  --build-arg BASE_BUILD=harmonomics-ci/build:bookworm \
  --build-arg BASE_RUNTIME=harmonomics-ci/runtime:bookworm \
  --build-arg CARGO_PROFILE=dev \
  -t harmonomics:ci . >/dev/null
docker image inspect harmonomics:ci --format \
  'image: user {{.Config.User}}, entrypoint {{.Config.Entrypoint}}, version label {{index .Config.Labels "org.opencontainers.image.version"}}'
[[ $(docker image inspect harmonomics:ci --format '{{.Config.User}}') == harmonomics ]]
[[ $(docker run --rm --network none harmonomics:ci --version) == "harmonomics $("$BIN" --version | cut -d' ' -f2)" ]]

# The fixture cohort inside the container (no network, the caller's uid so the output is ours),
# against `harmonomics run` outside.
"$BIN" --quiet run --out "$W/host"
mkdir -p "$W/container"
docker run --rm --network none --user "$(id -u):$(id -g)" -v "$W/container:/out" -w /opt/harmonomics \
  harmonomics:ci --quiet run --out /out/run
n=0
diff <(cd "$W/host" && find . -type f ! -name manifest.json | sort) \
     <(cd "$W/container/run" && find . -type f ! -name manifest.json | sort)
while read -r f; do
  cmp -s "$W/host/$f" "$W/container/run/$f" || { echo "differs inside the container: $f" >&2; exit 1; }
  n=$((n + 1))
done < <(cd "$W/host" && find . -type f ! -name manifest.json)
echo "container: $n files byte-identical to harmonomics run"
