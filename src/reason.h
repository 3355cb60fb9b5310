/* SPDX-License-Identifier: MIT */
#ifndef SFCGI_REASON_H
#define SFCGI_REASON_H

/* "Not Found" for 404 (RFC 9110), "" for a status without a phrase here. */
const char *http_reason(int status);

#endif
