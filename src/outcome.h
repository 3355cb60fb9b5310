/* SPDX-License-Identifier: MIT */
/*
 * How the last reload ended, for `sfcgi reload` (ExecReload=) to wait on:
 * $RUNTIME_DIRECTORY/reload, replaced atomically. Its first line:
 *   "ok: ..."       the new generation serves (the old one drains)
 *   "failed: ..."   refused, or rolled back: the old generation serves
 *   "serving: ..."  written at start: this supervisor reports outcomes
 * then "after: NS": the reload read the configuration after that
 * CLOCK_MONOTONIC time (ns). A SIGHUP during a reload is answered by the
 * one more reload it brings (reload.c): a caller that took the clock before
 * its SIGHUP waits for an outcome with a later "after:", which read the
 * configuration it wrote (an earlier supervisor writes no "after:" line).
 * Without $RUNTIME_DIRECTORY (not under systemd, or a unit without
 * RuntimeDirectory=) nothing is written.
 */
#ifndef SFCGI_OUTCOME_H
#define SFCGI_OUTCOME_H

#include <stddef.h>
#include <stdint.h>

#define OUTCOME_FILE "reload"

/* Writes "WORD: TEXT\nafter: AFTER_NS\n" to $RUNTIME_DIRECTORY/reload;
 * logged if it fails. */
void outcome_write(uint64_t after_ns, const char *word, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* CLOCK_MONOTONIC in ns: the same clock in every process on the machine. */
uint64_t outcome_clock(void);

/* The outcome in buf ("" while there is none, or none past since_ns), its
 * first line only. Returns -1 without a file, 1 if it has an "after:" line
 * (this version's supervisor wrote it), else 0. */
int outcome_read(const char *path, uint64_t since_ns, char *buf, size_t len);

/* The file's path for a RUNTIME_DIRECTORY value (its first entry), in buf;
 * -EINVAL if dir is not absolute or too long. */
int outcome_path(const char *dir, char *buf, size_t len);

#endif
