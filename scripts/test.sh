#!/usr/bin/env bash
# Runs the whole test suite (installing the system libraries first if they are missing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
# Serially: several suites start servers, child relays and mock Kafka clusters, and on a 2-core
# machine running them all at once starves Swift's cooperative pool (about 50 s this way).
swift test --skip-build --no-parallel "$@"
