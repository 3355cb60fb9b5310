<?php
// SPDX-License-Identifier: MIT
// The PHP page of the foreign-program tests: what the request looked like,
// one "key=value" a line. ?sleep=MS holds the request (reload under load).
header('Content-Type: text/plain');
if (isset($_GET['sleep']))
	usleep((int)$_GET['sleep'] * 1000);
$body = file_get_contents('php://input');
$s = $_SERVER;
echo "app=php\n";
echo "pid=" . getmypid() . "\n";
echo "method=" . $s['REQUEST_METHOD'] . "\n";
echo "x=" . ($_GET['x'] ?? '') . "\n";
echo "post_name=" . ($_POST['name'] ?? '') . "\n";
echo "body_len=" . strlen($body) . "\n";
echo "body_sha256=" . hash('sha256', $body) . "\n";
foreach (['SCRIPT_NAME', 'PATH_INFO', 'REQUEST_URI', 'REMOTE_USER', 'AUTH_TYPE',
	  'AUTH_CHECKED'] as $k)
	echo strtolower($k) . "=" . ($s[$k] ?? '') . "\n";
echo "children=" . getenv('PHP_FCGI_CHILDREN') . "\n";
