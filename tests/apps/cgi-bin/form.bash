#!/bin/bash
# SPDX-License-Identifier: MIT
# A bash CGI script as people write them: a form whose POST is decoded with
# bash's own string operations, the answer built with a few commands.
declare -A form
urldecode() { local s=${1//+/ }; printf '%b' "${s//%/\\x}"; }
if [[ $REQUEST_METHOD == POST ]]; then
	read -r -n "${CONTENT_LENGTH:-0}" body
	IFS='&' read -r -a pairs <<<"$body"
	for p in "${pairs[@]}"; do
		form[$(urldecode "${p%%=*}")]=$(urldecode "${p#*=}")
	done
fi
name=${form[name]:-nobody}
printf 'Content-Type: text/plain\r\n\r\n'
echo "hello=$(printf '%s' "$name" | tr a-z A-Z)"
echo "user=$(id -un)"
echo "shell=bash $BASH_VERSION"
[[ -r /etc/hostname ]] && echo "readable=yes"
echo "words=$(echo "$name" | wc -w)"
ls /nonexistent >/dev/null 2>&1 || echo "redirect=ok"
