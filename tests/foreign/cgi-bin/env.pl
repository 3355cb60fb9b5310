#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# A Perl CGI script. Hooks by query string: status=N, location=URL,
# stderr=TEXT, sleep=MS (before the header), hang=1 (after it),
# big=N (N bytes of body, streamed), bad=1 (a malformed header block).
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);

my %q = map { my ($k, $v) = split /=/, $_, 2; ($k, $v // '') } split /&/, $ENV{QUERY_STRING} // '';
my $body = '';
my $len = $ENV{CONTENT_LENGTH} || 0;
while (length($body) < $len) {
	my $n = read(STDIN, $body, $len - length($body), length($body));
	last unless $n;
}
select(undef, undef, undef, $q{sleep} / 1000) if $q{sleep};
print STDERR "env.pl says: $q{stderr}\n" if $q{stderr};
if ($q{bad}) { print "this is not a header\n\nbody\n"; exit 0; }
$| = 1;
print "Status: $q{status} Custom Reason\n" if $q{status};
print "Location: $q{location}\n" if $q{location};
print "Content-Type: text/plain\n\n";
if ($q{big}) {
	my $chunk = 'x' x 65536;
	for (my $left = $q{big}; $left > 0; $left -= 65536) {
		print substr($chunk, 0, $left < 65536 ? $left : 65536);
	}
	exit 0;
}
print "app=cgi-perl\nmethod=$ENV{REQUEST_METHOD}\nx=", $q{x} // '', "\n";
print "body_len=", length($body), "\nbody_sha256=", sha256_hex($body), "\n";
for my $k (qw(SCRIPT_NAME PATH_INFO REQUEST_URI REMOTE_USER AUTH_TYPE SCRIPT_FILENAME)) {
	print lc($k), "=", $ENV{$k} // '', "\n";
}
sleep 3600 if $q{hang};
