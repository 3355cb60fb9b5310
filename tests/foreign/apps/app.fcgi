#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# A Perl FCGI app with the accept loop of Foswiki's FastCGI engine
# (Foswiki::Engine::FastCGI::run): FCGI::Request on the socket the web
# server (here: sfcgi) passed on fd 0, FAIL_ACCEPT_ON_INTR, and
# `while ($r->Accept() >= 0)`. libfcgi's SIGUSR1 handler makes Accept()
# return -1 after the current request: that is the graceful stop.
use strict;
use warnings;
use FCGI;
use Digest::SHA qw(sha256_hex);
use POSIX ();

my %env;
my $r = FCGI::Request(\*STDIN, \*STDOUT, \*STDERR, \%env, 0, FCGI::FAIL_ACCEPT_ON_INTR());
my $served = 0;

sub param {
	my ($q, $k) = @_;
	return $q =~ /(?:^|&)\Q$k\E=([^&]*)/ ? $1 : '';
}

# ?leave=TAG (tests/foreign/orphan_cases.py): a child that stays (`sleep
# 600.TAG4`), with a background job, a double fork and a setsid() one under
# it (`600.TAG1` to `600.TAG3`), which must all end with this worker.
sub leave {
	my ($t) = @_;
	defined(my $pid = fork()) or die "fork: $!";
	return if $pid;
	POSIX::close($_) for 0 .. 63; # the connection, the listening socket
	{ exec('/bin/sh', '-c', "sleep 600.${t}1 & (sleep 600.${t}2 &); setsid sleep 600.${t}3 & exec sleep 600.${t}4") };
	POSIX::_exit(127);
}

while ($r->Accept() >= 0) {
	my $q = $env{QUERY_STRING} // '';
	my $len = $env{CONTENT_LENGTH} || 0;
	my $body = '';
	while (length($body) < $len) {
		my $n = read(STDIN, $body, $len - length($body), length($body));
		last unless $n;
	}
	my $ms = param($q, 'sleep');
	select(undef, undef, undef, $ms / 1000) if $ms;
	exit 3 if param($q, 'crash');
	leave(param($q, 'leave')) if param($q, 'leave') =~ /^\d+$/;
	sleep 1 while param($q, 'hang'); # stuck for good: sfcgi's hang detection
	$served++;
	print "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n";
	print "app=perl\npid=$$\nserved=$served\n";
	print "method=", $env{REQUEST_METHOD} // '', "\n";
	print "x=", param($q, 'x'), "\n";
	print "body_len=", length($body), "\nbody_sha256=", sha256_hex($body), "\n";
	for my $k (qw(SCRIPT_NAME PATH_INFO REQUEST_URI REMOTE_USER AUTH_TYPE AUTH_CHECKED)) {
		print lc($k), "=", $env{$k} // '', "\n";
	}
	print STDERR "perl app: served $served\n" if param($q, 'stderr');
	if (param($q, 'exit0')) { # as gitweb after an error page: done, status 0
		$r->Finish();
		exit 0;
	}
}
exit 0;
