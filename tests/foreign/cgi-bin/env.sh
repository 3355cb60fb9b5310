#!/bin/sh
# SPDX-License-Identifier: MIT
# A shell CGI script: the request as "key=value" lines, the body's sha256.
printf 'Content-Type: text/plain\r\n\r\n'
echo "app=cgi-sh"
echo "method=$REQUEST_METHOD"
echo "x=$(printf '%s' "$QUERY_STRING" | sed -n 's/.*\(^\|&\)x=\([^&]*\).*/\2/p')"
echo "body_sha256=$(head -c "${CONTENT_LENGTH:-0}" | sha256sum | cut -d' ' -f1)"
echo "script_name=$SCRIPT_NAME"
echo "path_info=$PATH_INFO"
echo "request_uri=$REQUEST_URI"
echo "remote_user=$REMOTE_USER"
echo "auth_type=$AUTH_TYPE"
echo "script_filename=$SCRIPT_FILENAME"
echo "http_proxy=${HTTP_PROXY-unset}"
echo "gateway_interface=$GATEWAY_INTERFACE"
echo "cwd=$(pwd)"
