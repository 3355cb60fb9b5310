#!/bin/bash
# SPDX-License-Identifier: MIT
# Tear down containers left by tests/systemd tests whose shell died without
# cleaning up (normally the guardian does this on its own), then list whatever
# of ours is still on the host. Exit status 0: the host is clean.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
sd__require_root || exit 1
sd_sweep
