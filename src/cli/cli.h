/* SPDX-License-Identifier: MIT */
/* Subcommands of the sfcgi tool. Each returns the process exit status. */
#ifndef SFCGI_CLI_H
#define SFCGI_CLI_H

#define EXIT_CONFIG 78 /* EX_CONFIG: systemd shows "status=78/CONFIG" */

int cmd_request(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_reload(int argc, char **argv);

struct config;
/* sfcgi-foreign: supervise a "kind": "foreign" instance's program. config_fd:
 * a memfd with the config's text, for a reload's rollback (0: none). */
int run_foreign(struct config *c, int config_fd);

#endif
