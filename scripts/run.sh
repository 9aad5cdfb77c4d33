#!/usr/bin/env bash
# Runs the relay on its embedded default: routes/routes.yaml, ./data, 127.0.0.1:8080, in-process Kafka.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
exec swift run -c release audience-relay serve "$@"
