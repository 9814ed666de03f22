#!/usr/bin/env bash
# Debian packages sciloom and its test suite need: bubblewrap and libseccomp2 (the sandbox for
# model-written programs, corpus/sandbox), Chromium (the HTML report is opened in a real headless
# browser). Slurm and munge are installed by scripts/slurm-local.sh. Idempotent; needs root
# (or sudo) only when something is missing.
#   scripts/install-system-deps.sh           everything the tests need
#   scripts/install-system-deps.sh sandbox   only the sandbox (what `make demo` needs to run programs)
set -euo pipefail
what="${1:-all}"
need=()
if [ "$what" = "all" ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
fi
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
ldconfig -p 2>/dev/null | grep -q 'libseccomp.so.2' || need+=(libseccomp2)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
