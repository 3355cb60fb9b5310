/* SPDX-License-Identifier: MIT */
/* Subcommands of the sfcgi tool. Each returns the process exit status. */
#ifndef SFCGI_CLI_H
#define SFCGI_CLI_H

int cmd_request(int argc, char **argv);

#endif
