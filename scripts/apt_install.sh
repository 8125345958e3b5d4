#!/usr/bin/env bash
# Install Debian packages when the machine allows it (root + apt-get); otherwise say so and go on.
set -u
missing=()
for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: cannot install ${missing[*]} (needs root and apt-get); dependent tests will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  apt-get update -q >/dev/null 2>&1
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || echo "note: apt-get could not install ${missing[*]}; dependent tests will skip" >&2
}
exit 0
