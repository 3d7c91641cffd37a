#!/usr/bin/python3
"""A slow or duplicating host for sweep's tests, where there is no netem.

  sweep_responder.py DELAY COPIES READY_FILE

Run in a network namespace whose kernel ignores echo requests
(net.ipv4.icmp_echo_ignore_all=1): answers each IPv4 echo request after
DELAY seconds, COPIES times (10 ms apart), from a raw socket. Creates
READY_FILE once it listens; runs until killed.
"""
import heapq
import select
import socket
import sys
import time


def checksum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(int.from_bytes(b[i:i + 2], 'big') for i in range(0, len(b), 2))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def main():
    delay, copies, ready = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    open(ready, 'w').close()
    due = []
    n = 0
    while True:
        wait = max(0.0, due[0][0] - time.monotonic()) if due else None
        if select.select([s], [], [], wait)[0]:
            data, addr = s.recvfrom(65535)
            icmp = data[(data[0] & 15) * 4:]
            if len(icmp) >= 8 and icmp[0] == 8 and icmp[1] == 0:
                reply = bytearray(b'\0\0\0\0' + icmp[4:])
                reply[2:4] = checksum(bytes(reply)).to_bytes(2, 'big')
                for i in range(copies):
                    n += 1
                    heapq.heappush(due, (time.monotonic() + delay + i * 0.01, n, bytes(reply), addr[0]))
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, reply, dst = heapq.heappop(due)
            s.sendto(reply, (dst, 0))


if __name__ == '__main__':
    main()
