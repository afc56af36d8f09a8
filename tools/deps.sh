#!/bin/sh
# deps.sh - install pgward's build and test dependencies (Debian 12, as root or via sudo).
# Installs only what is missing; safe to run again.
set -eu
PKGS="build-essential meson ninja-build pkg-config clang libclang-rt-14-dev clang-format bsdutils
  libssl-dev libzstd-dev libcurl4-openssl-dev libxml2-dev libjansson-dev libinih-dev libpq-dev
  libcmocka-dev zlib1g-dev openssl ca-certificates
  postgresql-15 postgresql-client-15 postgresql-plperl-15 postgresql-15-pgaudit age zstd time util-linux procps
  ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl bc iproute2 python3 minisign inotify-tools jq
  python3-cryptography libmicrohttpd-dev libsystemd-dev chromium pgbackrest python3-yaml"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# the OS user of verify --scratch-local's throwaway cluster when pgward runs as root: its own,
# owning nothing (never "postgres", which owns the real clusters)
getent passwd pgward-scratch >/dev/null ||
  $SUDO useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pgward-scratch
[ -z "$missing" ] && exit 0
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
