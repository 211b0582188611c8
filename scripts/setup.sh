#!/usr/bin/env bash
# Installs what kubemend's build, tests and lab need, and nothing twice: npm packages (npm ci when
# node_modules is missing or older than package-lock.json) and, as root on Debian, the packages the
# lab of systemd-nspawn nodes needs. Safe to run again at any time.
set -euo pipefail
cd "$(dirname "$0")/.."

lab_packages=(debootstrap systemd-container iproute2 openssh-client openssl tmux ca-certificates shellcheck dash netcat-openbsd)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${lab_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
elif [ "$(id -u)" != 0 ]; then
  echo "setup: not root: skipping the lab's Debian packages (${lab_packages[*]}); the lab needs root" >&2
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
