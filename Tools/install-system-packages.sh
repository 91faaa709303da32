#!/usr/bin/env bash
# Installs the Debian packages lomad builds and tests against (listed in system-packages.txt,
# which .ci/run reads too). Runs apt-get through sudo unless already root.
set -euo pipefail
here=$(dirname "$0")
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y $(grep -v '^#' "$here/system-packages.txt")
