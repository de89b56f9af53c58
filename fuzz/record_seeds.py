#!/usr/bin/python3
"""Records the seed corpora of the fuzz targets from real servers on 127.0.0.1.

    /usr/bin/python3 fuzz/record_seeds.py [--out fuzz/corpus]

Starts python3-websockets (tests/peers/python_echo.py), the npm `ws` peer
(tests/peers/node/echo.js, after install.sh), the CONNECT proxy fixture and the
HTTP fixture, talks to each over a raw socket and writes what they answer, with
the option and chunk-plan bytes each target expects in front (see
src/core/fuzz_chunks.h), as seed files:

  handshake/  the 101 heads (and the frames behind them) of websockets and ws,
              answering the RFC 6455 sample key the target expects
  session/    the frames those servers send after the head: echoes, a pong, the
              close reply
  proxy/      CONNECT replies: 200 with the tunnelled 101 in the same read, 407,
              403, and a 100 Continue before the 200
  http_body/  whole HTTP responses (Content-Length, chunked with extensions and
              trailers, close-delimited, 100 Continue, a bad chunk line)

The url, request and utf8 seeds are not server output; they are written here too
so that every seed has one source. Re-running overwrites files of the same name.
"""

import argparse
import base64
import os
import socket
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # base64("the sample nonce"), RFC 6455 1.3


def start(cmd):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=ROOT)
    line = proc.stdout.readline().decode()
    if not line.startswith("PORT "):
        raise SystemExit(f"{cmd[0]}: no PORT line")
    return proc, int(line.split()[1])


def frame(op, payload, mask=b"\x11\x22\x33\x44", fin=True):
    n = len(payload)
    b0 = (0x80 if fin else 0) | op
    if n < 126:
        head = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", b0, 0x80 | 127, n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def talk(port, *steps, settle=0.5):
    """Sends each step in turn, reading after each until the peer is quiet for
    `settle` seconds; stops early when the peer closes."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(settle)
    got = b""
    for data in steps:
        s.sendall(data)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    s.close()
                    return got
                got += chunk
        except (TimeoutError, socket.timeout):
            pass
    s.close()
    return got


def upgrade_request(port, protocols="chat, superchat", path="/"):
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {protocols}\r\n\r\n"
            ).encode()


def session_frames():
    """Data frames, then (a second step) a ping and our close."""
    return (frame(0x1, b"hello") + frame(0x2, bytes(range(256)) * 2) +
            frame(0x1, b"frag", fin=False) + frame(0x0, b"mented"),
            frame(0x9, b"ping-1") + frame(0x8, struct.pack("!H", 1000) + b"bye"))


def write(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    print(f"{target}/{name}: {len(data)} bytes")


def plan(options, sizes=()):
    """Byte 0 (k = len(sizes) in bits 0-2, the target's options in bits 3-7)
    and the chunk-size bytes."""
    assert len(sizes) < 8 and options < 32
    return bytes([options << 3 | len(sizes)]) + bytes(sizes)


def record_websocket(out, name, port):
    data, ending = session_frames()
    reply = talk(port, upgrade_request(port) + data, ending)
    head, sep, frames = reply.partition(b"\r\n\r\n")
    head += sep
    # handshake target: options 30 = 8192-byte head limit, 64 header fields.
    write(out, "handshake", f"101-{name}", plan(30, (3, 0x40, 200)) + head)
    write(out, "handshake", f"101-{name}-with-frames", plan(30) + reply)
    # session target: options 0, and 1 (an outgoing frame half written).
    write(out, "session", f"{name}-replies", plan(0, (9, 1, 200)) + frames)
    write(out, "session", f"{name}-replies-bytewise", plan(1) + frames)
    return head


def record_proxy(out, ws_port):
    proxy, port = start(["/usr/bin/python3", "tests/fixtures/connect_proxy.py",
                         "--auth=alice:p@ss w:rd"])
    try:
        creds = base64.b64encode(b"alice:p@ss w:rd").decode()
        target = f"127.0.0.1:{ws_port}"
        connect = (f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
                   f"Proxy-Authorization: Basic {creds}\r\n\r\n").encode()
        # Pipelined: the proxy sends its 200 and the server's 101 in one write.
        tunnel = talk(port, connect + upgrade_request(ws_port))
        write(out, "proxy", "200-then-101", plan(4 | 2, (0x10, 0x85, 40)) + tunnel)
        write(out, "proxy", "200-then-101-small-buffer", plan(4) + tunnel)
        refused = talk(port, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        write(out, "proxy", "407", plan(2, (5, 0x81)) + refused)
        remote = talk(port, (f"CONNECT 192.0.2.1:80 HTTP/1.1\r\nHost: 192.0.2.1:80\r\n"
                             f"Proxy-Authorization: Basic {creds}\r\n\r\n").encode())
        write(out, "proxy", "403", plan(2 | 16) + remote)
        write(out, "proxy", "100-then-200",
              plan(3, (2, 0x90)) + b"HTTP/1.1 100 Continue\r\n\r\n" + tunnel)
    finally:
        proxy.terminate()
        proxy.wait()


def record_http(out):
    server, port = start(["/usr/bin/python3", "tests/fixtures/http_server.py"])
    try:
        cases = {
            "length": "/length?size=10",
            "chunked-ext-trailers": "/chunked?sizes=5,6,17&ext=1&trailers=1",
            "chunked": "/chunked?sizes=1,300",
            "close": "/close?size=7",
            "pipelined": "/pipelined?size=5",
            "continue": "/continue?size=3",
            "status-404": "/status?code=404&reason=Not%20Found&body=gone",
            "bad-chunk": "/bad-chunk",
            "bad-length": "/bad-length",
            "switch": "/switch",
        }
        for name, path in cases.items():
            req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
            resp = talk(port, req, settle=0.3)
            # Option 4: parse the head first; the headers choose the body mode.
            write(out, "http_body", name, plan(4, (7, 1, 64)) + resp)
        head = talk(port, b"HEAD /length?size=10 HTTP/1.1\r\nHost: x\r\n\r\n", settle=0.3)
        write(out, "http_body", "head-request", plan(4 | 8) + head)
    finally:
        server.terminate()
        server.wait()
    # Bodies alone, in each mode (bits 0-1) with a length (bits 3-4).
    write(out, "http_body", "raw-chunked",
          plan(2, (3, 0)) + b"5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\nNEXT")
    write(out, "http_body", "raw-length-7", plan(1 | 8) + b"abcdefgTAIL")
    write(out, "http_body", "raw-close", plan(3, (2,)) + b"anything at all")


def write_generated(out):
    for name, text in {
        "plain": b"\x00ws://example.com/chat\x00/other?x=1",
        "v6-zone": b"\x04wss://[fe80::1%25eth0]:8443/x?y\x00z",
        "userinfo": b"\x10ws://user:p%40ss@host:9001/a\x00https://b.example/c#frag",
        "authority": b"\x14ws://127.0.0.1:9001\x00//other.host:81/p",
        "query-only": b"\x08WS://H?x\x00?q=2",
        "percent": b"\xe1ws://h/%41%zz\x00a%2fb%4",
    }.items():
        write(out, "url", name, text)

    def field(b):
        return bytes([len(b)]) + b

    def request(opt, port, host, resource=b"", origin=b"", protocols=(), headers=()):
        data = bytes([opt]) + struct.pack("!H", port) + b"the sample nonce"
        data += field(host) + field(resource) + field(origin)
        data += bytes([len(protocols)]) + b"".join(field(p) for p in protocols)
        data += bytes([len(headers)]) + b"".join(field(n) + field(v) for n, v in headers)
        return data

    write(out, "request", "full", request(
        0x06 | 0x10, 9001, b"example.com", b"/chat?room=1", b"https://example.com",
        (b"chat", b"superchat"), ((b"Authorization", b"Bearer x"), (b"X-Empty", b""))))
    write(out, "request", "v6-wss", request(0x01, 443, b"fe80::1%eth0", headers=(
        (b"User-Agent", b"wsc \x80 obs-text"),)))
    write(out, "request", "injection", request(0x06, 80, b"h", b"/", b"o\r\nX: y", (b"a b",),
                                               ((b"X-A", b"1\r\nInjected: 2"),)))
    write(out, "request", "reserved", request(0x00, 8080, b"h", headers=(
        (b"Sec-WebSocket-Extensions", b"x"), (b"Origin", b"o"))))
    write(out, "request", "exact-fit", request(0x00, 80, b"h"))

    for name, text in {
        "ascii": "Hello, wsc! " * 5,
        "greek": "κόσμε",
        "mixed": "a\u00e9\u4e2d\U0001f600z" * 3,
        "boundaries": "\u007f\u0080\u07ff\u0800\ud7ff\ue000\uffff\U00010000\U0010ffff",
    }.items():
        write(out, "utf8", name, plan(0, (2, 5)) + text.encode("utf-8", "surrogatepass"))
    for name, raw in {
        "surrogate": b"ok \xed\xa0\x80 no",
        "overlong": b"\xc0\xaf\xe0\x80\xaf",
        "too-big": b"\xf4\x90\x80\x80",
        "truncated": b"abc\xe2\x82",
        "continuation": b"\x80abc",
        "long-ascii-then-bad": b"0123456789abcdef" * 4 + b"\xff",
    }.items():
        write(out, "utf8", name, plan(1, (0, 6, 1)) + raw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "fuzz", "corpus"))
    args = ap.parse_args()

    write_generated(args.out)
    record_http(args.out)
    py, py_port = start(["/usr/bin/python3", "tests/peers/python_echo.py"])
    try:
        record_websocket(args.out, "python-websockets", py_port)
        record_proxy(args.out, py_port)
    finally:
        py.terminate()
        py.wait()
    subprocess.run(["tests/peers/node/install.sh"], cwd=ROOT, check=True)
    node, node_port = start(["node", "tests/peers/node/echo.js"])
    try:
        record_websocket(args.out, "node-ws", node_port)
    finally:
        node.terminate()
        node.wait()
    time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
