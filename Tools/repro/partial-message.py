#!/usr/bin/env python3
"""Shows libzmq holding one unfinished multipart message without bound (docs/reliability.md,
"One message's memory").

Speaks ZMTP 3.0 (NULL mechanism) over a plain socket, so it needs nothing but Python, and sends
frames that all carry the MORE flag: libzmq keeps every frame of the message it is assembling
and hands the application nothing until the last frame arrives, so neither lomad's limits nor
ZMQ_RCVHWM (which counts whole messages) can see them. ZMQ_MAXMSGSIZE is checked per frame only.

    Tools/repro/partial-message.py --pid PID ipc:///run/lomad/lomad.sock --frames 2000000
    Tools/repro/partial-message.py --pid PID tcp://127.0.0.1:5555 --frames 8 --frame-bytes 62914560

prints the daemon's resident memory before and after (read from /proc/PID/status).
"""
import argparse
import socket
import struct
import time


def rss(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def connect(endpoint):
    if endpoint.startswith("ipc://"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(endpoint[len("ipc://"):])
    elif endpoint.startswith("tcp://"):
        host, port = endpoint[len("tcp://"):].rsplit(":", 1)
        sock = socket.create_connection((host, int(port)))
    else:
        raise SystemExit(f"unsupported endpoint {endpoint}")
    return sock


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise SystemExit("the daemon closed the connection")
        data += chunk
    return data


def handshake(sock):
    # Greeting: signature, version 3.0, mechanism NULL, as-server 0, filler.
    sock.sendall(b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") + b"\x00" + b"\x00" * 31)
    read_exactly(sock, 64)
    name, value = b"Socket-Type", b"DEALER"
    body = b"\x05READY" + bytes([len(name)]) + name + struct.pack(">I", len(value)) + value
    sock.sendall(b"\x04" + bytes([len(body)]) + body)
    flags = read_exactly(sock, 1)[0]
    size = struct.unpack(">Q", read_exactly(sock, 8))[0] if flags & 0x02 else read_exactly(sock, 1)[0]
    read_exactly(sock, size)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("endpoint")
    parser.add_argument("--pid", type=int, required=True, help="the daemon's process id")
    parser.add_argument("--frames", type=int, default=2_000_000)
    parser.add_argument("--frame-bytes", type=int, default=0)
    args = parser.parse_args()

    sock = connect(args.endpoint)
    handshake(sock)
    before = rss(args.pid)
    if args.frame_bytes == 0:
        chunk = b"\x01\x00" * 65536  # empty frames, MORE set
        sent = 0
        while sent < args.frames:
            count = min(65536, args.frames - sent)
            sock.sendall(chunk[: 2 * count])
            sent += count
    else:
        payload = b"\x00" * args.frame_bytes
        for _ in range(args.frames):
            sock.sendall(b"\x03" + struct.pack(">Q", args.frame_bytes) + payload)  # MORE | LONG
    time.sleep(2)
    after = rss(args.pid)
    wire = args.frames * (2 if args.frame_bytes == 0 else 9 + args.frame_bytes)
    print(f"sent {args.frames} frames ({wire} bytes on the wire), message never finished; "
          f"daemon RSS {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB "
          f"(+{(after - before) / 2**20:.1f} MiB); connection still open: the daemon has not seen a byte of it")
    sock.close()


if __name__ == "__main__":
    main()
