/* SPDX-License-Identifier: MIT */
#include "scoreboard.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

int scoreboard_map(int fd, struct scoreboard **ret, int *ret_fd)
{
	bool created = fd < 0;
	struct scoreboard *sb;

	if (created) {
		fd = memfd_create("sfcgi-scoreboard", MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, sizeof *sb) < 0) {
			int r = -errno;

			close(fd);
			return r;
		}
	}
	sb = mmap(NULL, sizeof *sb, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sb == MAP_FAILED) {
		int r = -errno;

		if (created)
			close(fd);
		return r;
	}
	if (created)
		sb->magic = SCOREBOARD_MAGIC;
	else if (sb->magic != SCOREBOARD_MAGIC) {
		munmap(sb, sizeof *sb);
		return -EBADF;
	}
	*ret = sb;
	*ret_fd = fd;
	return 0;
}
