#!/bin/bash
# SPDX-License-Identifier: MIT
# Reaches out over TCP (bash's /dev/tcp): the "shell" profile allows unix
# sockets only, so the sandbox must end this script.
exec 3<>/dev/tcp/127.0.0.1/9
printf 'Content-Type: text/plain\r\n\r\nconnected\n'
