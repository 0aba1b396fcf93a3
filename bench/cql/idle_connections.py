"""Opens N idle CQL connections (each completes STARTUP) to a node and reports the
node's resident memory before and after. Usage: idle_connections.py PID [N] [PORT]"""
import socket
import struct
import sys
import time

pid, count = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1000
port = int(sys.argv[3]) if len(sys.argv) > 3 else 9042


def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def startup_frame():
    body = struct.pack(">H", 1)
    for s in ("CQL_VERSION", "3.4.5"):
        body += struct.pack(">H", len(s)) + s.encode()
    return struct.pack(">BBhBI", 4, 0, 0, 0x01, len(body)) + body


def read_frame(sock):
    header = b""
    while len(header) < 9:
        header += sock.recv(9 - len(header))
    length = struct.unpack(">I", header[5:9])[0]
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    return header[4]


before = rss_kib()
conns = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(startup_frame())
    assert read_frame(s) == 0x02, "expected READY"
    conns.append(s)
time.sleep(1)
after = rss_kib()
print(f"{count} idle connections: RSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB "
      f"({(after - before) / count:.1f} KiB per connection)")
