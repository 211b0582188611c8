#!/bin/sh
# The kubelet's systemd state and its healthz answer, as Key=value lines.
# $1: the healthz URL ('' when the kubelet serves none: healthzPort 0)
systemctl show kubelet -p MainPID -p NRestarts -p ActiveState -p SubState
if [ -z "$1" ]; then
  echo Healthz=unchecked
elif command -v curl >/dev/null; then
  echo "Healthz=$(curl -gsf -m 2 -- "$1" 2>/dev/null)"
elif command -v wget >/dev/null; then
  echo "Healthz=$(wget -qO- -T 2 -- "$1" 2>/dev/null)"
else
  echo Healthz=unchecked
fi
