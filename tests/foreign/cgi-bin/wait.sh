#!/bin/sh
# A CGI script that waits for its background job (dash's wait builtin
# sleeps in rt_sigsuspend until SIGCHLD: the "interpreter" group).
printf 'Content-Type: text/plain\r\n\r\n'
(sleep 0.1; echo job done) &
wait
echo script done
