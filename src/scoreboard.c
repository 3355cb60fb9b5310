/* SPDX-License-Identifier: MIT */
#include "scoreboard.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int scoreboard_map(int fd, struct scoreboard **ret, int *ret_fd)
{
	bool created = fd < 0;
	struct scoreboard *sb;
	struct stat st;

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
	/* inherited from an image of an older, smaller layout: the counters
	 * it lacked start at zero */
	if (!created && fstat(fd, &st) == 0 && (size_t)st.st_size < sizeof *sb &&
	    ftruncate(fd, sizeof *sb) < 0)
		return -errno;
	sb = mmap(NULL, sizeof *sb, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sb == MAP_FAILED) {
		int r = -errno;

		if (created)
			close(fd);
		return r;
	}
	if (created) {
		struct timespec ts;

		sb->magic = SCOREBOARD_MAGIC;
		clock_gettime(CLOCK_REALTIME, &ts);
		sb->sup.start_realtime_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	if (!created && sb->magic != SCOREBOARD_MAGIC) {
		munmap(sb, sizeof *sb);
		return -EBADF;
	}
	*ret = sb;
	*ret_fd = fd;
	return 0;
}
