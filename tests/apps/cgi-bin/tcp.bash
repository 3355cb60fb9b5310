#!/bin/bash
# SPDX-License-Identifier: MIT
# Reaches out over TCP (bash's /dev/tcp): the "shell" profile allows unix
# sockets only, so the sandbox must end this script. Under the shipped unit
# its RestrictAddressFamilies=AF_UNIX refuses first (EAFNOSUPPORT), and bash
# would go on after a failed exec: it says "connected" only if it is.
exec 3<>/dev/tcp/127.0.0.1/9 || exit 1
printf 'Content-Type: text/plain\r\n\r\nconnected\n'
