#!/bin/sh
# The node's clock (seconds since the epoch): journalctl --since must use the node's time, not ours.
date +%s
