"""A point-to-point IP link between two network namespaces with a fixed one-way delay, in user
space: for kernels without `sch_netem` (`tc qdisc add ... netem` fails with "Specified qdisc
kind is unknown"), which is what this machine's kernel is.

Two TUN devices are made in this (the root) namespace and moved into the two namespaces, with
point-to-point addresses; this process reads every IP packet one side sends and writes it to the
other side `delay` milliseconds later, in order (one FIFO per direction).
The kernels on both sides run real TCP over it; only the wire is simulated. The relay's own
cost (a read, a queue, a write per packet; MTU 65000 so that a frame is a few packets; one
thread with a poll loop) is in every measurement that uses it, including the 0 ms one.

Usage (root): python3 delay_link.py NS_A ADDR_A NS_B ADDR_B DELAY_MS
Runs until killed (SIGTERM); the devices vanish with the namespaces or the process.
"""

import collections
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True)


def main():
    ns_a, addr_a, ns_b, addr_b, delay_ms = sys.argv[1:6]
    delay = float(delay_ms) / 1000
    names = ["pltun" + ns_a[-1], "pltun" + ns_b[-1]]
    fds = [open_tun(n) for n in names]
    for name, ns, mine, peer in ((names[0], ns_a, addr_a, addr_b), (names[1], ns_b, addr_b, addr_a)):
        ip("link", "set", name, "netns", ns)
        ip("-n", ns, "addr", "add", mine, "peer", peer, "dev", name)
        ip("-n", ns, "link", "set", name, "mtu", "65000", "up")
        ip("-n", ns, "link", "set", "lo", "up")

    # One thread, one loop: wait for a packet or for the next one's due time, whichever is
    # first (threads would hand Python's interpreter lock over in 5 ms slices, adding jitter).
    queues = [collections.deque(), collections.deque()]  # queues[i]: packets for fds[i]
    side = {fds[0]: 0, fds[1]: 1}

    def serve():
        while True:
            now = time.monotonic()
            for i in (0, 1):
                q = queues[i]
                while q and q[0][0] <= now:
                    os.write(fds[i], q.popleft()[1])
            due = [q[0][0] for q in queues if q]
            # select takes microseconds (poll rounds its milliseconds up).
            timeout = None if not due else max(0, min(due) - time.monotonic())
            for fd in select.select(fds, [], [], timeout)[0]:
                packet = os.read(fd, 65536)
                queues[1 - side[fd]].append((time.monotonic() + delay, packet))

    threading.Thread(target=serve, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
