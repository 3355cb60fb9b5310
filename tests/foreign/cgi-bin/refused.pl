#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# A Perl CGI script that opens a TCP socket, which the bridge's documented
# sandbox ("process", "interpreter", "file-read") refuses: it must be named
# in sfcgi's log with "network", and its request answered 502.
use strict;
use warnings;
use Socket;

socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
print "Content-Type: text/plain\n\nsocket opened\n";
