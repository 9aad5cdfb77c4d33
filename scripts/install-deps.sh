#!/usr/bin/env bash
# Installs the Debian packages audience-relay builds and tests against, if any is missing.
set -euo pipefail

PACKAGES=(librdkafka-dev libcurl4-openssl-dev libsqlite3-dev zlib1g-dev libjemalloc-dev pkg-config kcat python3-confluent-kafka python3 openssl)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
fi
