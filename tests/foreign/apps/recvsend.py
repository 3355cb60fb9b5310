#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A FastCGI responder that talks to its connections with recv(2) and
send(2) only, as Python's socket module (flup) and Rust's std::net do.
Those calls do not count in /proc/PID/io (syscr, syscw), so sfcgi's hang
detection has to see this program serve by the connections it accepts
(src/progress.h). One connection at a time, no keep-alive, no
multiplexing: enough for tests/foreign/foreign_cases.py.

  ?sleep=MS   take MS milliseconds
  ?hang=1     never answer
"""
import os
import socket
import struct
import time

BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def recv_exact(c, n):
    b = b''
    while len(b) < n:
        k = c.recv(n - len(b))
        if not k:
            raise EOFError
        b += k
    return b


def records(c):
    while True:
        _, typ, rid, clen, plen, _ = struct.unpack('>BBHHBB', recv_exact(c, 8))
        yield typ, rid, recv_exact(c, clen + plen)[:clen]


def pairs(b):
    out, i = {}, 0
    while i < len(b):
        lens = []
        for _ in range(2):
            if b[i] >> 7:
                lens.append(struct.unpack('>I', b[i:i + 4])[0] & 0x7fffffff)
                i += 4
            else:
                lens.append(b[i])
                i += 1
        k, v = b[i:i + lens[0]], b[i + lens[0]:i + lens[0] + lens[1]]
        i += lens[0] + lens[1]
        out[k.decode(errors='replace')] = v.decode(errors='replace')
    return out


def record(typ, rid, body):
    return struct.pack('>BBHHBB', 1, typ, rid, len(body), 0, 0) + body


def serve(c, served):
    params, rid = b'', 1
    for typ, rid, body in records(c):
        if typ == PARAMS:
            params += body
        elif typ == STDIN and not body:
            break
    q = dict(kv.partition('=')[::2] for kv in
             pairs(params).get('QUERY_STRING', '').split('&') if kv)
    while q.get('hang'):
        time.sleep(1)
    if q.get('sleep'):
        time.sleep(int(q['sleep']) / 1000)
    out = (f'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n'
           f'app=python\npid={os.getpid()}\nserved={served}\n').encode()
    c.sendall(record(STDOUT, rid, out) + record(STDOUT, rid, b'') +
              record(END, rid, struct.pack('>IB3x', 0, 0)))


def main():
    listener = socket.socket(fileno=0)  # FCGI_LISTENSOCK_FILENO
    served = 0
    while True:
        c, _ = listener.accept()
        served += 1
        try:
            serve(c, served)
        except EOFError:
            pass
        c.close()


if __name__ == '__main__':
    main()
