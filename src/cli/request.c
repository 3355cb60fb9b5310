#include "cli.h"
int cmd_request(int argc, char **argv) { (void)argc; (void)argv; return 2; }
