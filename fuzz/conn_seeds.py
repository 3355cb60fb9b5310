#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the hand-made seeds of the `conn` fuzz target into corpus/conn/.

Each seed is fuzz_conn.c's 32-byte header (limits, peer behaviour, handler
actions, chunk sizes) followed by the byte stream a peer sends. Run it
after changing a seed; files the fuzzer found (found-*) are left alone.

    python3 fuzz/conn_seeds.py
"""
import os
import struct
import sys

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR, DATA, GET_VALUES = range(1, 10)
RESPONDER, AUTHORIZER, FILTER = 1, 2, 3
KEEP = 1

# handler action bits (first byte a, second byte b), see handle() in fuzz_conn.c
A_READ_ALL, A_READ_ALL_FN, A_READ_ONCE = 1, 2, 3
A_DATA, A_NO_OUT, A_OUT_5K, A_OUT_70K = 4, 8, 16, 24
A_STDERR, A_HEAD, A_EARLY = 32, 64, 128
B_FINISH, B_FLUSH, B_STOP_ABORTED, B_SMALL_MAX, B_ECHO, B_ZERO = 1, 2, 4, 8, 64, 128
B_RSIZE = {1: 0, 97: 16, 4096: 32, 70000: 48}


def header(mpx=1, read_ahead_4k=False, write_buffer_4k=False, hangup=False, small_sndbuf=False,
           params_bytes=0, params=0, stdin=0, drain=0, sigterm_at=0, actions=(), chunks=()):
    flags = {1: 0, 2: 1, 4: 2, 16: 3}[mpx] | read_ahead_4k << 2 | write_buffer_4k << 3 | hangup << 4 | small_sndbuf << 5
    act = bytearray(16)
    for i, (a, b) in enumerate(actions):
        act[2 * i], act[2 * i + 1] = a, b
    ch = bytes(chunks) + bytes(8 - len(chunks))
    return bytes([flags, params_bytes, params, stdin, drain, sigterm_at, 0, 0]) + bytes(act) + ch


def rec(t, rid, content=b'', pad=None, version=1):
    pad = (-len(content)) % 8 if pad is None else pad
    return struct.pack('>BBHHBB', version, t, rid, len(content), pad, 0) + content + bytes(pad)


def begin(rid, role=RESPONDER, flags=0):
    return rec(BEGIN, rid, struct.pack('>HB5x', role, flags))


def length(n):
    return bytes([n]) if n < 128 else struct.pack('>I', n | 0x80000000)


def pair(name, value):
    name, value = name.encode(), value.encode()
    return length(len(name)) + length(len(value)) + name + value


def params(rid, *kv):
    body = b''.join(pair(*p.split('=', 1)) for p in kv)
    return (rec(PARAMS, rid, body) if body else b'') + rec(PARAMS, rid)


def stream(t, rid, data, chunk=65535):
    out = b''.join(rec(t, rid, data[i:i + chunk]) for i in range(0, len(data), chunk))
    return out + rec(t, rid)


def request(rid, flags=0, kv=('REQUEST_METHOD=GET', 'QUERY_STRING='), body=b'', role=RESPONDER):
    return begin(rid, role, flags) + params(rid, *kv) + stream(STDIN, rid, body)


GET = ('REQUEST_METHOD=GET', 'QUERY_STRING=x=1')
POST = ('REQUEST_METHOD=POST', 'CONTENT_LENGTH=11')
READ = (A_READ_ALL, B_RSIZE[97])

SEEDS = {
    # behaviour
    'responder-get': header() + request(1, 0, GET),
    'responder-post-stdin': header(actions=[(A_READ_ALL | A_HEAD, B_ECHO | B_RSIZE[4096])])
    + request(1, 0, POST, b'hello world'),
    'responder-post-read-all-fn': header(actions=[(A_READ_ALL_FN, 0)])
    + request(1, 0, POST, b'hello world'),
    'responder-post-read-all-too-big': header(actions=[(A_READ_ALL_FN, B_SMALL_MAX)])
    + request(1, 0, POST, b'x' * 100),
    'responder-early-write-then-read': header(write_buffer_4k=True,
                                              actions=[(A_EARLY | A_HEAD | A_READ_ALL | A_OUT_5K, B_FLUSH)])
    + request(1, 0, POST, b'y' * 3000),
    'responder-stderr-finish': header(actions=[(A_STDERR | A_HEAD, B_FINISH)]) + request(1, 0, GET),
    'keep-conn-pipelined': header(actions=[READ, READ]) + request(1, KEEP, GET, b'abc')
    + request(1, KEEP, GET, b'def'),
    'keep-conn-pipelined-ids': header(actions=[READ, (A_OUT_70K, 0)])
    + request(1, KEEP, GET, b'abc') + request(2, KEEP, GET) + request(3, 0, GET),
    'keep-conn-byte-chunks': header(actions=[READ, READ], chunks=[1, 2, 3, 5, 7, 11, 13, 17])
    + request(1, KEEP, POST, b'hello world') + request(2, KEEP, POST, b'hello world'),
    'authorizer': header(actions=[(A_HEAD, 0)]) + begin(1, AUTHORIZER) + params(1, 'DENY=1'),
    'authorizer-reads-body': header(actions=[READ]) + begin(1, AUTHORIZER, KEEP) + params(1, 'X=1'),
    'filter-data': header(actions=[(A_READ_ALL | A_DATA, B_ECHO)])
    + begin(1, FILTER) + params(1, 'FCGI_DATA_LENGTH=11') + stream(STDIN, 1, b'ignored')
    + rec(DATA, 1, b'hello ') + rec(DATA, 1, b'world') + rec(DATA, 1),
    'filter-data-only': header(actions=[(A_DATA, B_RSIZE[1])])
    + begin(1, FILTER) + params(1, 'FCGI_DATA_LENGTH=5') + stream(STDIN, 1, b'skipped body')
    + stream(DATA, 1, b'hello'),
    'get-values': header() + rec(GET_VALUES, 0, pair('FCGI_MAX_CONNS', '') + pair('FCGI_MPXS_CONNS', '')
                                  + pair('FCGI_MAX_REQS', '') + pair('NOT_A_VARIABLE', '')),
    'get-values-malformed': header() + rec(GET_VALUES, 0, b'\x0e\x05FCGI'),
    'abort-before-run': header() + begin(1, RESPONDER, KEEP) + params(1, 'REQUEST_METHOD=POST')
    + rec(STDIN, 1, b'part') + rec(ABORT, 1) + rec(STDIN, 1, b'more') + rec(STDIN, 1)
    + request(1, KEEP, GET),
    # the handler waits for the slow peer to read (write_buffer), the abort comes
    'abort-while-running': header(small_sndbuf=True, write_buffer_4k=True, drain=1,
                                  actions=[(A_OUT_70K, B_STOP_ABORTED)],
                                  chunks=[len(request(1, KEEP, GET)), 0])
    + request(1, KEEP, GET) + rec(ABORT, 1) + request(1, KEEP, GET),
    # the handler has finished, its END_REQUEST is still queued: the abort crosses it
    'abort-crosses-end-request': header(small_sndbuf=True, drain=1, actions=[(A_OUT_70K, 0)],
                                        chunks=[len(request(1, KEEP, GET)), 0])
    + request(1, KEEP, GET) + rec(ABORT, 1) + request(1, KEEP, GET),
    'cant-mpx-conn': header() + begin(1, RESPONDER, KEEP) + params(1, 'REQUEST_METHOD=GET')[:-8]
    + request(2, KEEP, GET) + rec(PARAMS, 1) + rec(STDIN, 1),
    'mpx-two-ids': header(mpx=2, actions=[READ, READ]) + begin(1, RESPONDER, KEEP) + begin(2, RESPONDER, KEEP)
    + params(2, 'A=2') + params(1, 'A=1') + stream(STDIN, 2, b'two') + stream(STDIN, 1, b'one'),
    'read-ahead-pause': header(read_ahead_4k=True, actions=[(A_READ_ALL, B_RSIZE[1])], chunks=[0])
    + begin(1) + params(1, 'REQUEST_METHOD=POST') + stream(STDIN, 1, bytes(range(256)) * 24, 1000),
    'read-ahead-pause-get-values': header(mpx=2, read_ahead_4k=True, actions=[(A_EARLY | A_READ_ALL, 0)])
    + begin(1) + params(1, 'REQUEST_METHOD=POST') + stream(STDIN, 1, b'z' * 6000, 3000)
    + rec(GET_VALUES, 0, pair('FCGI_MAX_REQS', '')),
    # the handler has an open STDOUT record when its read resumes the paused
    # connection and the answers to GET_VALUES and an unknown type are queued
    'answers-behind-open-stdout-record': header(read_ahead_4k=True,
                                                actions=[(A_EARLY | A_READ_ALL, B_RSIZE[4096])])
    + begin(1) + params(1, 'REQUEST_METHOD=POST') + stream(STDIN, 1, b'q' * 6000, 1000)
    + rec(GET_VALUES, 0, pair('FCGI_MAX_REQS', '')) + rec(77, 1, b'x'),
    # sfcgi_write(req, p, 0) and friends, around real output on both streams
    'zero-length-writes': header(actions=[(A_STDERR | A_HEAD, B_ZERO), (A_EARLY | A_READ_ALL, B_ZERO | B_ECHO)])
    + request(1, KEEP, GET) + request(1, 0, POST, b'hello world'),
    # max_stdin_bytes (5504) > read_ahead: the handler is streaming the body when it grows too long
    'body-exceeds-max-while-streaming': header(read_ahead_4k=True, stdin=173, actions=[READ])
    + begin(1) + params(1, 'REQUEST_METHOD=POST') + stream(STDIN, 1, b'w' * 6000, 1000),
    # sixteen requests at once on one connection (more than the pool of 8 released ones)
    'mpx-sixteen': header(mpx=16, actions=[READ] * 8)
    + b''.join(begin(i, RESPONDER, KEEP) for i in range(1, 17))
    + b''.join(params(i, 'N=%d' % i) + stream(STDIN, i, b'body %d' % i) for i in range(16, 0, -1)),
    'sigterm-drain': header(sigterm_at=2, actions=[READ], chunks=[40])
    + request(1, KEEP, POST, b'a body') + request(2, KEEP, GET),
    'slow-reader-big-response': header(small_sndbuf=True, drain=2, write_buffer_4k=True,
                                       actions=[(A_OUT_70K | A_STDERR, B_FLUSH)])
    + request(1, 0, GET),
    'hangup-mid-response': header(hangup=True, small_sndbuf=True, drain=1, actions=[(A_OUT_70K, 0)])
    + request(1, KEEP, GET),
    'half-close-after-request': header() + request(1, KEEP, GET, b'x'),
    'stderr-stream': header(actions=[(A_STDERR, 0)]) + request(1, 0, GET),
    'large-body-streams': header(read_ahead_4k=True, actions=[(A_READ_ALL, B_ECHO | B_RSIZE[4096])],
                                 chunks=[200])
    + request(1, 0, POST, bytes(i % 26 + 65 for i in range(7000))),
    # the malformed cases of tests/integration/test_protocol.c
    'bad-version': header() + rec(BEGIN, 1, struct.pack('>HB5x', RESPONDER, 0), version=2),
    'unknown-type': header() + rec(42, 1, b'x') + rec(200, 0) + request(1, KEEP, GET),
    'unknown-role': header() + begin(1, 7, KEEP) + params(1) + rec(STDIN, 1) + request(2, KEEP, GET),
    'request-id-zero': header() + begin(0) + request(1, 0, GET),
    'pair-overruns-stream': header() + begin(1) + rec(PARAMS, 1, pair('REQUEST_METHOD', 'GET') + b'\x05\x09ab')
    + rec(PARAMS, 1) + rec(STDIN, 1),
    'pair-length-7fffffff': header() + begin(1) + rec(PARAMS, 1, b'\xff\xff\xff\xff\x01nv') + rec(PARAMS, 1)
    + rec(STDIN, 1),
    'truncated-record': header() + begin(1)[:11],
    'truncated-header': header() + begin(1)[:5],
    'params-before-begin': header() + rec(PARAMS, 1, pair('REQUEST_METHOD', 'GET')),
    'stdin-before-params-end': header() + begin(1) + rec(PARAMS, 1, pair('REQUEST_METHOD', 'POST'))
    + rec(STDIN, 1, b'body'),
    'begin-twice': header() + begin(1) + begin(1),
    'begin-body-short': header() + rec(BEGIN, 1, b'\x00\x01\x00'),
    'oversized-params': header(params_bytes=1) + begin(1) + rec(PARAMS, 1, pair('HTTP_A', 'x' * 200))
    + rec(PARAMS, 1, pair('HTTP_A', 'x' * 200)) + rec(PARAMS, 1) + rec(STDIN, 1),
    'many-tiny-params': header(params=100) + begin(1) + rec(PARAMS, 1, pair('a', '') * 1000)
    + rec(PARAMS, 1) + rec(STDIN, 1),
    'oversized-body-by-content-length': header(stdin=33)
    + request(1, 0, ('REQUEST_METHOD=POST', 'CONTENT_LENGTH=3000000'), b'x'),
    # CONTENT_LENGTH: -1 (Caddy) streams, a non-decimal value is a 400, and a
    # value past 2^64 - 1 a 413
    'content-length-unknown': header() + request(1, 0, ('REQUEST_METHOD=POST',
                                                         'CONTENT_LENGTH=-1'), b'hello world'),
    'content-length-malformed': header() + request(1, 0, ('REQUEST_METHOD=POST',
                                                           'CONTENT_LENGTH=+5'), b'hello'),
    'content-length-overflow': header() + request(1, 0, ('REQUEST_METHOD=POST',
                                                          'CONTENT_LENGTH=18446744073709551616'),
                                                  b'x'),
    'oversized-body-streamed': header(stdin=33, read_ahead_4k=True, actions=[READ])
    + request(1, 0, ('REQUEST_METHOD=POST',), b'y' * 6000),
    'data-for-responder': header() + begin(1) + rec(PARAMS, 1) + rec(DATA, 1, b'x'),
    'peer-closes-mid-response': header(hangup=True, small_sndbuf=True, actions=[(A_OUT_70K, 0)])
    + request(1, 0, GET),
    'no-keep-conn-closes': header() + request(1, 0, GET) + request(2, 0, GET),
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'conn')
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        assert len(data) <= 8192, name
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    print(f'{len(SEEDS)} seeds in {out}', file=sys.stderr)


if __name__ == '__main__':
    main()
