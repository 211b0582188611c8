#!/bin/sh
# Restarts the kubelet, after `systemctl daemon-reload` when a unit file changed.
# $1: daemon-reload | no-reload
if [ "$1" = daemon-reload ]; then
  systemctl daemon-reload || { echo "KMFAIL restart systemctl daemon-reload failed" >&2; exit 1; }
fi
systemctl restart kubelet || { echo "KMFAIL restart systemctl restart kubelet failed" >&2; exit 1; }
