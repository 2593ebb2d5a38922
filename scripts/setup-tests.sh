#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine (run as root):
# Debian's chromium (browser tests) and Fashion-MNIST (offline model tests), and the
# package with its test extra. Never downloads a browser build or model weights.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if command -v apt-get >/dev/null 2>&1; then
  need=""
  [ -x /usr/bin/chromium ] || need="$need chromium"
  [ -d /usr/share/datasets/fashion-mnist ] || need="$need dataset-fashion-mnist"
  if [ -n "$need" ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends $need
  fi
fi
python -m pip install -q -e ".[dashboard,test,distributed,timm]"
