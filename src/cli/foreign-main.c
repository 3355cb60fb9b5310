/* SPDX-License-Identifier: MIT */
/*
 * sfcgi-foreign --config FILE: the supervisor of a "kind": "foreign"
 * instance (foreign.c). `sfcgi run` executes it, from libexecdir, so that
 * the sfcgi command itself, which every native instance starts through,
 * stays a light exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "ids.h"
#include "json.h"
#include "log.h"

/*
 * The config, read once: from the file, or (SFCGI_CONFIG_FD, a reload
 * rolled back: reload.c) from the text the image before the reload ran
 * with. The text is kept in a memfd for the next reload's rollback: the
 * file may have changed by then. 0, with *ret_fd that memfd (0 if none
 * could be made: no rollback then), or EXIT_CONFIG (logged).
 */
static int load(const char *path, struct config *c, int *ret_fd)
{
	const char *e = getenv("SFCGI_CONFIG_FD");
	int fd = e ? atoi(e) : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	char *text = malloc(CONFIG_MAX_BYTES + 1);
	struct config_error err;
	size_t len = 0;
	ssize_t n = 1;

	unsetenv("SFCGI_CONFIG_FD");
	if (fd < 0 || !text) {
		log_err("%s: %s", path, strerror(!text ? ENOMEM : errno));
		free(text);
		return EXIT_CONFIG;
	}
	if (e)
		lseek(fd, 0, SEEK_SET);
	while (n > 0 && len <= CONFIG_MAX_BYTES) {
		n = read(fd, text + len, CONFIG_MAX_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			n = 1;
		len += n > 0 ? (size_t)n : 0;
	}
	if (n < 0) {
		log_err("%s: %m", path);
		free(text);
		return EXIT_CONFIG;
	}
	if (config_parse(path, text, len, c, &err) < 0) {
		json_one_line(err.msg);
		log_err("%s", err.msg);
		free(text);
		return EXIT_CONFIG;
	}
	if (e) {
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		*ret_fd = fd;
	} else {
		close(fd);
		fd = memfd_create("sfcgi-config", MFD_CLOEXEC);
		/* out of the way of the listening sockets, which go to 3.. */
		*ret_fd = fd > 0 && write(fd, text, len) == (ssize_t)len ?
				  fcntl(fd, F_DUPFD_CLOEXEC, 64) : 0;
		if (fd > 0)
			close(fd);
		if (*ret_fd < 0)
			*ret_fd = 0;
	}
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	struct config c;
	int config_fd = 0, r;

	log_init();
	if (argc != 3 || strcmp(argv[1], "--config") != 0) {
		fprintf(stderr, "Usage: sfcgi-foreign --config FILE   (started by `sfcgi run`)\n");
		return 2;
	}
	ids_take_hint(); /* what `sfcgi run` resolved (ids.c): names without NSS */
	r = load(argv[2], &c, &config_fd);
	ids_drop_hint(); /* a reload's check asks NSS, as `sfcgi run` will */
	if (r != 0)
		return r;
	if (c.kind == CONFIG_NATIVE) {
		log_err("%s: not a foreign program (\"kind\"): start it with sfcgi run", c.path);
		return EXIT_CONFIG;
	}
	return run_foreign(&c, config_fd);
}
