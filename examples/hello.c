/* SPDX-License-Identifier: MIT */
/* The smallest sfcgi application: answers every request with a greeting. */
#include <sfcgi.h>

static int hello(struct sfcgi_request *req, void *userdata)
{
	(void)userdata;
	sfcgi_add_header(req, "Content-Type", "text/plain");
	sfcgi_printf(req, "Hello from sfcgi!\n");
	return 0;
}

int main(int argc, char **argv)
{
	const struct sfcgi_app app = { .handler = hello };

	return sfcgi_main(argc, argv, &app);
}
