/* SPDX-License-Identifier: MIT */
/*
 * How the last reload ended, for `sfcgi reload` (ExecReload=) to wait on:
 * one line in $RUNTIME_DIRECTORY/reload, replaced atomically.
 *   "ok: ..."       the new generation serves (the old one drains)
 *   "failed: ..."   refused, or rolled back: the old generation serves
 *   "serving: ..."  written at start: this supervisor reports outcomes
 * Without $RUNTIME_DIRECTORY (not under systemd, or a unit without
 * RuntimeDirectory=) nothing is written.
 */
#ifndef SFCGI_OUTCOME_H
#define SFCGI_OUTCOME_H

#include <stddef.h>

#define OUTCOME_FILE "reload"

/* Writes "WORD: TEXT\n" to $RUNTIME_DIRECTORY/reload; logged if it fails. */
void outcome_write(const char *word, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The file's path for a RUNTIME_DIRECTORY value (its first entry), in buf;
 * -EINVAL if dir is not absolute or too long. */
int outcome_path(const char *dir, char *buf, size_t len);

#endif
