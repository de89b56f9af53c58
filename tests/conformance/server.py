#!/usr/bin/python3
"""wsc's strict conformance server for WebSocket clients (RFC 6455).

A fuzzing server in the style of Autobahn|Testsuite, written for wsc on raw sockets and
threads (standard library only). It speaks the Autobahn client-testee protocol, so a
testee that runs against Autobahn's fuzzingserver runs against this one too:

  /getCaseCount              a text message with the number of selected cases, then close
  /runCase?case=N&agent=A    runs the N-th selected case (1-based) against agent A
  /updateReports?agent=A     writes A's report (to --report FILE and to stdout), then close

The cases follow Autobahn's categories and numbering ("1.1.1"): 1 framing, 2 pings and
pongs, 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8, 7 close handling, 9 limits
and performance, 12 compression and 13 compression parameters (permessage-deflate,
RFC 7692). Cases 12 and 13 need a client that offers permessage-deflate; the others
decline any offer. They are our own, and strict: each case has exactly one outcome that
passes. Either the client echoes every message exactly (type and bytes) and then
answers our close 1000 with close 1000, or it fails the connection with one exact close
code (1002, 1007, 1009) and sends nothing but that close after the violation. A client
that notices invalid UTF-8 only after the rest of the message has arrived fails the
fail-fast cases: there we send up to the first invalid byte, wait FAIL_FAST_WAIT, and
only then send the rest. Frames the client sends are checked strictly as well (masked,
minimal lengths, valid UTF-8, nothing after its close).

Contract with the runner (tests/conformance/run.sh):
  * binds 127.0.0.1, port 0 unless --port; prints `PORT <n>` (flushed) once listening.
    The only other output on stdout is each report as it is written;
  * exits on SIGTERM/SIGINT, and by itself after --lifetime seconds (default 120);
  * --cases "1.*,6.4.*" selects cases (comma-separated fnmatch patterns on case ids);
    --list prints the selected cases and exits; --verbose logs verdicts to stderr.

Run with Debian's interpreter: /usr/bin/python3 server.py [--report FILE] [--cases ...]
"""

import argparse
import base64
import binascii
import fnmatch
import hashlib
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
import zlib
from urllib.parse import parse_qs, urlsplit

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
OP_NAMES = {OP_CONT: "continuation", OP_TEXT: "text", OP_BINARY: "binary",
            OP_CLOSE: "close", OP_PING: "ping", OP_PONG: "pong"}

KiB = 1024
MiB = 1024 * 1024

EVENT_TIMEOUT = 5.0      # seconds a case waits for the client's next frame
BIG_TIMEOUT = 30.0       # ... when the client has megabytes to echo
FAIL_FAST_WAIT = 1.0     # time the client gets to fail before we send the rest
AFTER_CLOSE_WAIT = 0.25  # how long we watch for frames after the client's close
CHOP_PAUSE = 0.001       # pause between chopped writes, so each is its own segment
SEND_TIMEOUT = 30.0      # a client that stops reading must not hang a case forever
REQUEST_HEAD_MAX = 16 * KiB
CLIENT_FRAME_MAX = 64 * MiB  # client frames are held in memory whole

HELLO = b"hello"  # sent before a violation: must be echoed
AFTER = b"after"  # sent after a violation: must never be echoed

# --------------------------------------------------------------------------- frames


def header(op, length, fin=True, rsv=0, mask_key=None):
    """A frame header with the minimal length encoding (RFC 6455 5.2). The server
    never masks, except in the case that checks the client refuses masked frames."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    mask_bit = 0x80 if mask_key else 0
    if length < 126:
        head = bytes([b0, mask_bit | length])
    elif length < 0x10000:
        head = struct.pack("!BBH", b0, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", b0, mask_bit | 127, length)
    return head + (mask_key or b"")


def mask(data, key):
    """XORs data with the 4-byte key (RFC 6455 5.3). Whole-payload integer XOR keeps
    multi-megabyte echoes fast where a per-byte loop would take seconds."""
    n = len(data)
    if n == 0:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def frame(op, payload=b"", fin=True, rsv=0, mask_key=None):
    body = mask(payload, mask_key) if mask_key else payload
    return header(op, len(payload), fin, rsv, mask_key) + body


def text(payload):
    return frame(OP_TEXT, payload.encode() if isinstance(payload, str) else payload)


def binary(payload):
    return frame(OP_BINARY, payload)


def ping(payload=b""):
    return frame(OP_PING, payload)


def pong(payload=b""):
    return frame(OP_PONG, payload)


def close_payload(code=None, reason=b""):
    return b"" if code is None else struct.pack("!H", code) + reason


def close_frame(code=None, reason=b""):
    return frame(OP_CLOSE, close_payload(code, reason))


def fragmented(op, parts, between=None):
    """One message as len(parts) frames; between[i] (raw bytes, e.g. a ping) is sent
    after fragment i."""
    between = between or {}
    out = b""
    for i, part in enumerate(parts):
        out += frame(op if i == 0 else OP_CONT, part, fin=i == len(parts) - 1)
        out += between.get(i, b"")
    return out


def split_every(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


def ascii_text(n):
    """Deterministic printable text of n bytes; the phrase length (73) is odd, so a
    shifted or repeated block shows up in the comparison."""
    phrase = b"wsc conformance: the quick brown fox jumps over the lazy dog 0123456789. "
    return (phrase * (n // len(phrase) + 1))[:n]


_BINARY_PERIOD = bytes((i * 167 + 13) & 0xFF for i in range(256))


def binary_data(n):
    """Deterministic binary payload of n bytes covering every byte value."""
    return (_BINARY_PERIOD * (n // 256 + 1))[:n]


def payload_for(op, n):
    return ascii_text(n) if op == OP_TEXT else binary_data(n)


def close_code_valid(code):
    """Codes allowed on the wire: RFC 6455 7.4.1 plus the IANA registry (1012-1014),
    and 3000-4999 for libraries and applications. 1004-1006 and 1015 never appear."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


# --------------------------------------------------------------------------- UTF-8


def utf8_fail_index(data):
    """Index of the first byte after which data can no longer be the start of valid
    UTF-8 (RFC 3629 4: no overlong forms, surrogates or code points above U+10FFFF),
    or None when every byte so far can still be part of valid text. A validator that
    fails fast closes the connection as soon as it has seen this byte."""
    need, lo, hi = 0, 0x80, 0xBF
    for i, b in enumerate(data):
        if need:
            if not lo <= b <= hi:
                return i
            need, lo, hi = need - 1, 0x80, 0xBF
        elif b < 0x80:
            continue
        elif 0xC2 <= b <= 0xDF:
            need = 1
        elif b == 0xE0:
            need, lo = 2, 0xA0  # E0 80..9F would be overlong
        elif 0xE1 <= b <= 0xEC or b in (0xEE, 0xEF):
            need = 2
        elif b == 0xED:
            need, hi = 2, 0x9F  # ED A0..BF would be a surrogate
        elif b == 0xF0:
            need, lo = 3, 0x90  # F0 80..8F would be overlong
        elif 0xF1 <= b <= 0xF3:
            need = 3
        elif b == 0xF4:
            need, hi = 3, 0x8F  # F4 90.. would be above U+10FFFF
        else:
            return i  # 80..C1 cannot start a character, F5..FF start nothing valid
    return None


def utf8_valid(data):
    try:
        data.decode("utf-8")  # Python's codec is strict: the cross-check of the above
        return True
    except UnicodeDecodeError:
        return False


# --------------------------------------------------------------------------- client side


class CaseFailed(Exception):
    """The client did something other than the one outcome the case accepts."""


class ClientViolation(CaseFailed):
    """The client broke RFC 6455 in what it sent."""


class Event:
    """Something the client did: a message (text/binary), ping, pong or close; or the
    end of its input (eof, reset), or nothing within the time allowed (timeout)."""

    def __init__(self, kind, data=b"", code=None, timeout=0.0):
        self.kind, self.data, self.code, self.timeout = kind, data, code, timeout

    def describe(self, compare=None):
        if self.kind in ("text", "binary", "ping", "pong"):
            s = f"{self.kind} ({len(self.data)} bytes)"
            if compare is not None and len(self.data) == len(compare):
                at = next((i for i, (a, b) in enumerate(zip(self.data, compare)) if a != b), None)
                if at is not None:
                    return s + f" differing from the expected payload at byte {at}"
            if len(self.data) <= 40:
                s += " " + repr(bytes(self.data))
            return s
        if self.kind == "close":
            return "close " + describe_code(self.code) + (
                f" reason {bytes(self.data)!r}" if self.data else "")
        if self.kind == "eof":
            return "TCP closed without a close frame"
        if self.kind == "reset":
            return "connection reset without a close frame"
        return f"nothing within {self.timeout:g} s"


def describe_code(code):
    return "without a code" if code is None else str(code)


def write_sizes(total, chop):
    """Write sizes for sending total bytes: chop is an int (fixed size), a list of
    sizes (the remainder goes in one last write) or a (lo, hi, seed) random range."""
    if isinstance(chop, int):
        return [min(chop, total - i) for i in range(0, total, chop)]
    if isinstance(chop, list):
        sizes, left = [], total
        for n in chop:
            if left <= 0:
                break
            sizes.append(min(n, left))
            left -= sizes[-1]
        return sizes + ([left] if left > 0 else [])
    lo, hi, seed = chop
    rng, sizes, left = random.Random(seed), [], total
    while left > 0:
        sizes.append(min(rng.randint(lo, hi), left))
        left -= sizes[-1]
    return sizes


class Conn:
    """The server end of one WebSocket connection. Sends raw bytes exactly as a case
    says (whole, or chopped into writes with pauses), and reads the client's frames
    checking every rule RFC 6455 sets for clients."""

    def __init__(self, sock, leftover=b""):
        self.sock = sock
        self.pmd = None           # the Deflate a compression case agreed on
        self.msg_rsv1 = False     # the client message being reassembled is compressed
        self.buf = bytearray(leftover)
        self.ended = None         # the eof/reset Event once the client's input ended
        self.msg_op = None        # opcode of the client message being reassembled
        self.msg_parts = []
        self.client_close = None  # the client's close Event
        self.close_sent = False   # we sent a close frame (valid or not)
        self.notes = []           # remarks for the report, even when the case passes

    # -- sending

    def send(self, data, chop=None, pause=CHOP_PAUSE, closing=False):
        """Sends data in one write, or chopped (see write_sizes) with a pause between
        writes. closing=True marks data that contains a close frame of ours. A client
        that hung up meanwhile may have done so rightly: what it sent before is still
        readable and decides the verdict, so send errors are not failures here."""
        self.close_sent |= closing
        try:
            self.sock.settimeout(SEND_TIMEOUT)
            if chop is None:
                self.sock.sendall(data)
                return
            pos = 0
            for n in write_sizes(len(data), chop):
                if pos and pause:
                    time.sleep(pause)
                self.sock.sendall(data[pos:pos + n])
                pos += n
        except OSError:
            pass

    # -- receiving

    def _fill(self, deadline):
        """Reads once; False when nothing arrived by the deadline (a deadline in the
        past makes it a non-blocking poll)."""
        try:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.0))
            chunk = self.sock.recv(1 << 20)
        except (socket.timeout, BlockingIOError):
            return False
        except OSError:
            self.ended = Event("reset")
            return True
        if not chunk:
            self.ended = Event("eof")
        self.buf += chunk
        return True

    def _frame(self):
        """Takes one complete frame off the input: (fin, rsv, opcode, masked, payload),
        or None while it is incomplete."""
        b = self.buf
        if len(b) < 2:
            return None
        b0, b1 = b[0], b[1]
        length, pos = b1 & 0x7F, 2
        if length == 126:
            if len(b) < 4:
                return None
            length, pos = struct.unpack_from("!H", b, 2)[0], 4
            minimal = length >= 126
        elif length == 127:
            if len(b) < 10:
                return None
            length, pos = struct.unpack_from("!Q", b, 2)[0], 10
            minimal = length >= 0x10000
        else:
            minimal = True
        if not minimal:
            raise ClientViolation(f"frame length {length} not in the minimal encoding "
                                  "(RFC 6455 5.2)")
        if length > CLIENT_FRAME_MAX:
            raise ClientViolation(f"a {length}-byte frame, more than any case asks for")
        key = None
        if b1 & 0x80:
            if len(b) < pos + 4:
                return None
            key, pos = bytes(b[pos:pos + 4]), pos + 4
        if len(b) < pos + length:
            return None
        payload = bytes(b[pos:pos + length])
        del b[:pos + length]
        if key:
            payload = mask(payload, key)
        return bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, key is not None, payload

    def _on_frame(self, fin, rsv, op, masked, payload):
        """Applies the client-side rules of RFC 6455 to one frame; returns an Event,
        or None for a fragment of an unfinished message."""
        what = OP_NAMES.get(op, f"opcode {op:#x}")
        if self.client_close:
            raise ClientViolation(f"sent a {what} frame after its close frame (RFC 6455 5.5.1)")
        if not masked:
            raise ClientViolation(f"sent an unmasked {what} frame (RFC 6455 5.1)")
        # RFC 7692 6: with permessage-deflate, RSV1 on the first frame of a message.
        starts = op in (OP_TEXT, OP_BINARY)
        if rsv and not (self.pmd and rsv == 4 and starts):
            raise ClientViolation(f"set RSV bits {rsv:#x} on a {what} frame (RFC 6455 5.2"
                                  f"{', RFC 7692 6' if self.pmd else ''})")
        if op >= 0x8:
            if op not in (OP_CLOSE, OP_PING, OP_PONG):
                raise ClientViolation(f"sent reserved {what}")
            if not fin or len(payload) > 125:
                raise ClientViolation(f"sent a fragmented or {len(payload)}-byte {what} "
                                      "(RFC 6455 5.5)")
            if op == OP_PING:
                return Event("ping", payload)
            if op == OP_PONG:
                return Event("pong", payload)
            return self._on_close(payload)
        if op not in (OP_CONT, OP_TEXT, OP_BINARY):
            raise ClientViolation(f"sent reserved {what}")
        if op == OP_CONT and self.msg_op is None:
            raise ClientViolation("sent a continuation frame outside a message")
        if op != OP_CONT:
            if self.msg_op is not None:
                raise ClientViolation(f"started a {what} message inside a fragmented one")
            self.msg_op, self.msg_parts = op, []
            self.msg_rsv1 = rsv == 4
        self.msg_parts.append(payload)
        if not fin:
            return None
        data, op = b"".join(self.msg_parts), self.msg_op
        self.msg_op, self.msg_parts = None, []
        if self.msg_rsv1:
            data = self.pmd.inflate(data)
        elif self.pmd:
            self.note("the client sent a message uncompressed")
        if op == OP_TEXT and not utf8_valid(data):
            raise ClientViolation("sent a text message that is not valid UTF-8")
        return Event("text" if op == OP_TEXT else "binary", data)

    def _on_close(self, payload):
        if len(payload) == 1:
            raise ClientViolation("sent a close frame with a 1-byte payload")
        code = struct.unpack("!H", payload[:2])[0] if payload else None
        if code is not None and not close_code_valid(code):
            raise ClientViolation(f"sent close code {code}, which is not allowed on the wire")
        if not utf8_valid(payload[2:]):
            raise ClientViolation("sent a close reason that is not valid UTF-8")
        self.client_close = Event("close", payload[2:], code)
        return self.client_close

    def event(self, timeout=EVENT_TIMEOUT):
        """The client's next message, ping, pong or close; eof/reset once its input
        ended; or a timeout Event when nothing complete came within timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            f = self._frame()
            if f is not None:
                ev = self._on_frame(*f)
                if ev is not None:
                    return ev
                continue
            if self.ended:
                return self.ended
            if not self._fill(deadline):
                return Event("timeout", timeout=timeout)

    # -- expectations: each returns normally or raises CaseFailed

    def expect_echo(self, op, payload, timeout=EVENT_TIMEOUT):
        kind = OP_NAMES[op]
        ev = self.event(timeout)
        if ev.kind != kind or ev.data != payload:
            compare = payload if ev.kind == kind else None
            raise CaseFailed(f"expected the echo of the {kind} message ({len(payload)} "
                             f"bytes), got {ev.describe(compare)}")

    def expect_pong(self, payload):
        ev = self.event()
        if ev.kind != "pong" or ev.data != payload:
            raise CaseFailed(f"expected a pong with the ping's {len(payload)}-byte payload, "
                             f"got {ev.describe()}")

    def expect_close(self, *codes, timeout=EVENT_TIMEOUT):
        """The next thing the client sends must be a close with one of codes (None
        stands for a close without a code)."""
        ev = self.event(timeout)
        if ev.kind == "close" and ev.code in codes:
            return ev
        want = " or ".join(describe_code(c) for c in codes)
        raise CaseFailed(f"expected close {want}, got {ev.describe()}")

    def expect_close_fast(self, code, rest, wait=FAIL_FAST_WAIT):
        """The client must close with code on what it has so far, before rest (bytes,
        or a function making them) is sent. If it says nothing within wait seconds we
        send rest anyway, to tell failing late from not failing at all."""
        ev = self.event(wait)
        if ev.kind == "timeout":
            self.send(rest() if callable(rest) else rest)
            late = self.event()
            if late.kind == "close" and late.code == code:
                raise CaseFailed(f"failed late: close {code} came only after the rest was "
                                 f"sent, not within {wait:g} s of the offending byte")
            raise CaseFailed(f"expected close {code} within {wait:g} s of the offending "
                             f"byte; nothing came, and after the rest: {late.describe()}")
        if ev.kind != "close" or ev.code != code:
            raise CaseFailed(f"expected close {code}, got {ev.describe()}")

    def close_normally(self):
        """Ends a case the client has passed so far: our close 1000, its echo."""
        self.send(close_frame(1000), closing=True)
        self.expect_close(1000)

    def note(self, remark):
        self.notes.append(remark)

    def frame_left_open(self):
        """We stopped in the middle of a frame: no close frame of ours can follow it
        (it would be read as payload), so the connection ends with TCP alone."""
        self.close_sent = True

    # -- ending

    def finish(self):
        """After a passing script: answer the client's close (RFC 6455 5.5.1), then
        make sure nothing follows it before its TCP stream ends."""
        if self.client_close is None:
            raise RuntimeError("case script ended before the client's close")
        if not self.close_sent:
            self.send(close_frame(self.client_close.code), closing=True)
        self.event(AFTER_CLOSE_WAIT)  # raises ClientViolation on any frame

    def drop(self):
        # The server closes TCP first (RFC 6455 7.1.1); shutdown() also wakes a peer
        # still waiting on us.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


# --------------------------------------------------------------------------- compression

DEFLATE_TAIL = b"\x00\x00\xff\xff"


def deflate_offers(head):
    """The client's permessage-deflate offers (RFC 7692 5) in its request head, each a
    dict of parameter -> value (None for a parameter without one)."""
    offers = []
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if not sep or name.strip().lower() != "sec-websocket-extensions":
            continue
        for ext in value.split(","):
            parts = [p.strip() for p in ext.split(";")]
            if parts[0] != "permessage-deflate":
                continue
            params = {}
            for p in parts[1:]:
                key, eq, val = p.partition("=")
                params[key.strip()] = val.strip().strip('"') if eq else None
            offers.append(params)
    return offers


class Deflate:
    """The server end of permessage-deflate as a case agrees on it (RFC 7692 7.2).

    answer: the parameters of our response (server_no_context_takeover,
    client_no_context_takeover: True; server_max_window_bits,
    client_max_window_bits: 8..15). We compress with our window and reset per
    message without server context takeover; we inflate the client's messages with
    the client's agreed window and a fresh inflater per message without client
    context takeover, so a client that breaks either promise fails to inflate."""

    def __init__(self, answer):
        self.answer = answer
        self.snct = bool(answer.get("server_no_context_takeover"))
        self.cnct = bool(answer.get("client_no_context_takeover"))
        self.sbits = max(9, answer.get("server_max_window_bits") or 15)
        self.cbits = answer.get("client_max_window_bits") or 15
        self.tx = self.rx = None

    def accepts(self, offer):
        """None when we may answer this offer so (7.1), else why not."""
        if "client_max_window_bits" in self.answer and "client_max_window_bits" not in offer:
            return "the offer has no client_max_window_bits (RFC 7692 7.1.2.2)"
        asked = offer.get("server_max_window_bits")
        if asked and self.sbits > int(asked):
            return f"the offer limits our window to {asked} bits"
        if "server_no_context_takeover" in offer and not self.snct:
            return "the offer asks for server_no_context_takeover"
        return None

    def header_line(self):
        value = "permessage-deflate"
        for key, v in self.answer.items():
            value += f"; {key}" if v is True else f"; {key}={v}"
        return "Sec-WebSocket-Extensions: " + value

    def compress(self, payload, final_block=False):
        """A message's payload: the sync flush's 00 00 ff ff removed (7.2.1), or with
        final_block a BFINAL block followed by one 00 byte (7.2.3.4)."""
        if final_block:
            c = zlib.compressobj(9, zlib.DEFLATED, -self.sbits)
            return c.compress(payload) + c.flush(zlib.Z_FINISH) + b"\x00"
        if self.tx is None or self.snct:
            self.tx = zlib.compressobj(9, zlib.DEFLATED, -self.sbits)
        data = self.tx.compress(payload) + self.tx.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(DEFLATE_TAIL)
        return data[:-4]

    def frame_list(self, op, payload, frame_size=None, final_block=False):
        """A compressed message as a list of frames, RSV1 on the first (RFC 7692 6)."""
        data = self.compress(payload, final_block)
        parts = split_every(data, frame_size) if frame_size else [data]
        return [frame(op if i == 0 else OP_CONT, part, fin=i == len(parts) - 1,
                      rsv=4 if i == 0 else 0) for i, part in enumerate(parts)]

    def frames(self, op, payload, frame_size=None, final_block=False):
        return b"".join(self.frame_list(op, payload, frame_size, final_block))

    def inflate(self, payload):
        if self.rx is None or self.cnct:
            self.rx = zlib.decompressobj(-self.cbits)
        try:
            data = self.rx.decompress(payload + DEFLATE_TAIL, CLIENT_FRAME_MAX + 1)
        except zlib.error as e:
            raise ClientViolation(f"sent compressed data that does not inflate with a "
                                  f"{self.cbits}-bit window{' and no context' if self.cnct else ''}"
                                  f" ({e}; RFC 7692 7.2.2)") from None
        if len(data) > CLIENT_FRAME_MAX or self.rx.unconsumed_tail:
            raise ClientViolation("sent a compressed message larger than any case asks for")
        return data


# --------------------------------------------------------------------------- scripts
#
# A case is an id, a title and a script: a function of one Conn that sends what the
# case is about and states what the client must do, raising CaseFailed otherwise.
# The builders below make the common shapes; unusual cases write their own script.


class Echo:
    """Step: the client must echo this message exactly."""

    def __init__(self, op, payload, timeout=EVENT_TIMEOUT):
        self.op, self.payload, self.timeout = op, payload, timeout

    def check(self, c):
        c.expect_echo(self.op, self.payload, self.timeout)


class Pong:
    """Step: the client must answer a ping with this payload."""

    def __init__(self, payload):
        self.payload = payload

    def check(self, c):
        c.expect_pong(self.payload)


def echo_script(wire, steps, chop=None, pause=CHOP_PAUSE):
    """Sends wire, expects steps (Echo/Pong) in order, then the normal close."""
    def script(c):
        c.send(wire, chop, pause)
        for step in steps:
            step.check(c)
        c.close_normally()
    return script


def echo_message(op, payload, chop=None, timeout=EVENT_TIMEOUT):
    return echo_script(frame(op, payload), [Echo(op, payload, timeout)], chop)


def violation_script(bad, code, chop=None, closing=False):
    """Sends `hello` (must be echoed), the bad bytes, then `after` and a ping (neither
    may be answered), all at once; the client must echo `hello` and then close with
    code. closing=True says the bad bytes hold a close frame of ours."""
    def script(c):
        c.send(text(HELLO) + bad + text(AFTER) + ping(AFTER), chop, closing=closing)
        c.expect_echo(OP_TEXT, HELLO)
        c.expect_close(code)
    return script


def header_violation_script(bad_header, payload, code=1002):
    """`hello`, then a frame header the client must refuse on sight: its payload is
    sent only if the client has not closed with code within FAIL_FAST_WAIT."""
    def script(c):
        c.send(text(HELLO) + bad_header)
        c.expect_echo(OP_TEXT, HELLO)
        c.expect_close_fast(code, payload + text(AFTER))
    return script


def text_wire(parts, between=None):
    """The frames of a text message in len(parts) fragments, and a function mapping
    a byte index of the message to its offset on the wire."""
    between = between or {}
    wire, starts = b"", []  # starts: (message offset, wire offset) of each fragment
    at = 0
    for i, part in enumerate(parts):
        wire += header(OP_TEXT if i == 0 else OP_CONT, len(part), fin=i == len(parts) - 1)
        starts.append((at, len(wire)))
        wire += part + between.get(i, b"")
        at += len(part)

    def wire_offset(index):
        for (m, w), part in zip(starts, parts):
            if m <= index < m + len(part):
                return w + index - m
        raise ValueError(index)
    return wire, wire_offset


def utf8_fail_fast_script(parts, between=None, pongs=()):
    """An invalid text message (fragments parts) sent up to its first invalid byte;
    the client must close with 1007 before the rest (and `after`) is sent."""
    message = b"".join(parts)
    bad = utf8_fail_index(message)
    # The case data must be right: invalid, failing before the last message byte.
    assert bad is not None and bad < len(message) - 1 and not utf8_valid(message), parts
    wire, wire_offset = text_wire(parts, between)
    cut = wire_offset(bad) + 1
    head, rest = wire[:cut], wire[cut:] + text(AFTER)

    def script(c):
        c.send(head)
        for p in pongs:
            c.expect_pong(p)
        c.expect_close_fast(1007, rest)
    return script


def utf8_truncated_script(parts, chop=None):
    """A text message whose bytes are valid so far but end inside a character: the
    client can only tell at the end of the message, and must close with 1007."""
    message = b"".join(parts)
    assert utf8_fail_index(message) is None and not utf8_valid(message), parts
    wire, _ = text_wire(parts)

    def script(c):
        c.send(wire + text(AFTER), chop)
        c.expect_close(1007)
    return script


# --------------------------------------------------------------------------- the cases


class Case:
    """burst: frames sent in the same write as the 101 response, before the script.
    deflate: for the compression cases, the parameters our answer to the client's
    permessage-deflate offer carries (a dict; {} accepts with no parameters)."""

    def __init__(self, cid, title, script, burst=b"", deflate=None):
        self.id, self.title, self.script, self.burst = cid, title, script, burst
        self.deflate = deflate
        self.category = cid.split(".")[0]


CATEGORIES = {
    "1": "Framing",
    "2": "Pings and pongs",
    "3": "Reserved bits",
    "4": "Opcodes",
    "5": "Fragmentation",
    "6": "UTF-8 handling",
    "7": "Close handling",
    "9": "Limits and performance",
    "12": "Compression (permessage-deflate)",
    "13": "Compression parameters (context takeover, windows)",
}


def framing_cases(add):
    sizes = [0, 125, 126, 127, 128, 65535, 65536]
    for sub, op in ((1, OP_TEXT), (2, OP_BINARY)):
        kind = OP_NAMES[op]
        for i, n in enumerate(sizes, 1):
            add(f"1.{sub}.{i}", f"{kind} message of {n} bytes, one write",
                echo_message(op, payload_for(op, n)))
        add(f"1.{sub}.8", f"{kind} message of 65536 bytes in writes of 997 bytes",
            echo_message(op, payload_for(op, 65536), chop=997))

    # 1.3: one frame in many writes; header and payload split at every boundary.
    for i, (op, n) in enumerate([(OP_TEXT, 0), (OP_TEXT, 125), (OP_TEXT, 126),
                                 (OP_BINARY, 127), (OP_BINARY, 128)], 1):
        add(f"1.3.{i}", f"{OP_NAMES[op]} message of {n} bytes, one byte per write",
            echo_message(op, payload_for(op, n), chop=1))
    add("1.3.6", "binary message of 65536 bytes: 10-byte header one byte per write",
        echo_message(OP_BINARY, binary_data(65536), chop=[1] * 10))
    add("1.3.7", "text message of 65535 bytes in random writes of 1..4096 bytes",
        echo_message(OP_TEXT, ascii_text(65535), chop=(1, 4096, 137)))
    add("1.3.8", "binary message of 65536 bytes in random writes of 1..4096 bytes",
        echo_message(OP_BINARY, binary_data(65536), chop=(1, 4096, 138)))

    # 1.4: many frames in one write, the client must keep every byte.
    three = [(OP_TEXT, ascii_text(n)) for n in (0, 125, 126)]
    ten = []
    for i in range(10):
        op = OP_TEXT if i % 2 == 0 else OP_BINARY
        ten.append((op, payload_for(op, i * 37)))
    for cid, title, msgs, chop in [
            ("1.4.1", "three text messages (0, 125, 126 bytes) in one write", three, None),
            ("1.4.2", "ten text and binary messages in one write", ten, None),
            ("1.4.3", "ten text and binary messages in random writes of 1..7 bytes", ten,
             (1, 7, 143))]:
        add(cid, title, echo_script(b"".join(frame(op, p) for op, p in msgs),
                                    [Echo(op, p) for op, p in msgs], chop))

    add("1.4.4", "two messages in the same write as the 101 response",
        echo_script(b"", [Echo(OP_TEXT, b"with the 101"), Echo(OP_BINARY, binary_data(300))]),
        burst=text("with the 101") + binary(binary_data(300)))

    # 1.5: frames no client may accept.
    add("1.5.1", "64-bit payload length with the most significant bit set -> 1002",
        violation_script(b"\x82\x7f\x80" + b"\x00" * 6 + b"\x05" + b"12345", 1002))
    add("1.5.2", "masked frame from the server -> 1002",
        violation_script(frame(OP_TEXT, b"masked", mask_key=b"\x37\xfa\x21\x3d"), 1002))
    add("1.5.3", "64-bit length with the most significant bit set, one byte per write -> 1002",
        violation_script(b"\x82\x7f\x80" + b"\x00" * 6 + b"\x05" + b"12345", 1002, chop=1))


def ping_cases(add):
    add("2.1", "ping without payload -> pong without payload",
        echo_script(ping(), [Pong(b"")]))
    add("2.2", "ping with a text payload -> pong with it",
        echo_script(ping(b"Hello, world!"), [Pong(b"Hello, world!")]))
    odd = bytes([0x00, 0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0x00, 0xFF])
    add("2.3", "ping with a binary payload -> pong with it", echo_script(ping(odd), [Pong(odd)]))
    big = binary_data(125)
    add("2.4", "ping with 125 bytes (the maximum) -> pong with them",
        echo_script(ping(big), [Pong(big)]))
    add("2.5", "ping with 126 bytes -> 1002 and no pong",
        violation_script(frame(OP_PING, binary_data(126)), 1002))
    add("2.6", "ping with 125 bytes, one byte per write -> pong",
        echo_script(ping(big), [Pong(big)], chop=1))
    add("2.7", "unsolicited pong without payload is ignored",
        echo_script(pong() + text(HELLO), [Echo(OP_TEXT, HELLO)]))
    add("2.8", "unsolicited pong with payload is ignored",
        echo_script(pong(b"unsolicited") + text(HELLO), [Echo(OP_TEXT, HELLO)]))
    add("2.9", "unsolicited pong, then a ping -> one pong, with the ping's payload",
        echo_script(pong(b"unsolicited") + ping(b"solicited"), [Pong(b"solicited")]))
    pings = [f"ping-{i}".encode() for i in range(10)]
    wire = b"".join(ping(p) for p in pings)
    add("2.10", "10 pings in one write -> 10 pongs in order",
        echo_script(wire, [Pong(p) for p in pings]))
    add("2.11", "10 pings, one byte per write -> 10 pongs in order",
        echo_script(wire, [Pong(p) for p in pings], chop=1))
    add("2.12", "text, ping, text in one write -> echo, pong, echo in order",
        echo_script(text(b"one") + ping(b"between") + text(b"two"),
                    [Echo(OP_TEXT, b"one"), Pong(b"between"), Echo(OP_TEXT, b"two")]))
    add("2.13", "header of a 64 KiB ping -> 1002 before the payload is sent",
        header_violation_script(header(OP_PING, 65536), binary_data(65536)))


def rsv_cases(add):
    n = 1
    for op in (OP_TEXT, OP_BINARY, OP_PING):
        for bits, name in ((4, "RSV1"), (2, "RSV2"), (1, "RSV3")):
            add(f"3.{n}", f"{name} on a {OP_NAMES[op]} frame -> 1002",
                violation_script(frame(op, b"reserved bits", rsv=bits), 1002))
            n += 1
    add("3.10", "all RSV bits on a close frame -> 1002",
        violation_script(frame(OP_CLOSE, close_payload(1000), rsv=7), 1002, closing=True))
    add("3.11", "RSV1 on the continuation of a fragmented text -> 1002",
        violation_script(frame(OP_TEXT, b"frag", fin=False) +
                         frame(OP_CONT, b"mented", rsv=4), 1002))
    add("3.12", "RSV2 on a pong -> 1002",
        violation_script(frame(OP_PONG, b"reserved bits", rsv=2), 1002))
    add("3.13", "RSV3 on a text frame, everything one byte per write -> 1002",
        violation_script(frame(OP_TEXT, b"reserved bits", rsv=1), 1002, chop=1))
    add("3.14", "header of a 64 KiB binary frame with RSV1 -> 1002 before the payload",
        header_violation_script(header(OP_BINARY, 65536, rsv=4), binary_data(65536)))


def opcode_cases(add):
    for sub, ops in ((1, range(0x3, 0x8)), (2, range(0xB, 0x10))):
        n = 1
        for op in ops:
            for payload in (b"", b"reserved opcode"):
                size = f"{len(payload)}-byte payload" if payload else "no payload"
                add(f"4.{sub}.{n}", f"reserved opcode {op:#x} with {size} -> 1002",
                    violation_script(frame(op, payload), 1002))
                n += 1
    add("4.1.11", "header of a 64 KiB frame with opcode 0x3 -> 1002 before the payload",
        header_violation_script(header(0x3, 65536), binary_data(65536)))


def fragmentation_cases(add):
    add("5.1", "ping in two fragments -> 1002",
        violation_script(frame(OP_PING, b"frag", fin=False) + frame(OP_CONT, b"ment"), 1002))
    add("5.2", "pong in two fragments -> 1002",
        violation_script(frame(OP_PONG, b"frag", fin=False) + frame(OP_CONT, b"ment"), 1002))

    def frag_echo(cid, title, op, parts, chop=None, between=None, pongs=()):
        wire = fragmented(op, parts, between)
        steps = [Pong(p) for p in pongs] + [Echo(op, b"".join(parts))]
        add(cid, title, echo_script(wire, steps, chop))

    two = [b"fragment1", b"fragment2"]
    frag_echo("5.3", "text in 2 fragments, one write", OP_TEXT, two)
    frag_echo("5.4", "text in 2 fragments, one write each", OP_TEXT, two,
              chop=[len(frame(OP_TEXT, two[0]))])
    frag_echo("5.5", "text in 2 fragments, one byte per write", OP_TEXT, two, chop=1)
    frag_echo("5.6", "binary in 2 fragments", OP_BINARY, [binary_data(100), binary_data(50)])
    frag_echo("5.7", "text in 5 fragments", OP_TEXT, split_every(ascii_text(50), 10))
    frag_echo("5.8", "binary of 1000 bytes in 10 fragments", OP_BINARY,
              split_every(binary_data(1000), 100))
    frag_echo("5.9", "text of 64 bytes in 64 one-byte fragments", OP_TEXT,
              split_every(ascii_text(64), 1))
    frag_echo("5.10", "text in 2 fragments with a ping between -> pong, echo", OP_TEXT, two,
              between={0: ping(b"between")}, pongs=[b"between"])
    frag_echo("5.11", "same, one byte per write", OP_TEXT, two, chop=1,
              between={0: ping(b"between")}, pongs=[b"between"])
    frag_echo("5.12", "text in 3 fragments with ping, pong, ping between -> 2 pongs, echo",
              OP_TEXT, [b"one", b"two", b"three"],
              between={0: ping(b"p1") + pong(b"unsolicited"), 1: ping(b"p2")},
              pongs=[b"p1", b"p2"])
    five = split_every(binary_data(500), 100)
    pings = {i: ping(f"p{i}".encode()) for i in range(4)}
    frag_echo("5.13", "binary in 5 fragments, a ping after each -> 4 pongs in order, echo",
              OP_BINARY, five, between=pings, pongs=[f"p{i}".encode() for i in range(4)])
    frag_echo("5.14", "same, one byte per write", OP_BINARY, five, chop=1, between=pings,
              pongs=[f"p{i}".encode() for i in range(4)])

    add("5.15", "continuation (FIN set) without a message -> 1002",
        violation_script(frame(OP_CONT, b"orphan"), 1002))
    add("5.16", "continuation (FIN clear) without a message -> 1002",
        violation_script(frame(OP_CONT, b"orphan", fin=False), 1002))
    add("5.17", "continuation without a message, one byte per write -> 1002",
        violation_script(frame(OP_CONT, b"orphan"), 1002, chop=1))

    def extra_continuation(c):
        c.send(fragmented(OP_TEXT, two) + frame(OP_CONT, b"fragment3") + text(AFTER))
        c.expect_echo(OP_TEXT, b"".join(two))
        c.expect_close(1002)
    add("5.18", "continuation after a finished fragmented message -> echo, 1002",
        extra_continuation)
    add("5.19", "new text frame inside a fragmented text -> 1002, no echo",
        violation_script(frame(OP_TEXT, b"first", fin=False) + text(b"second"), 1002))
    add("5.20", "new binary frame inside a fragmented text -> 1002, no echo",
        violation_script(frame(OP_TEXT, b"first", fin=False) + binary(b"second"), 1002))
    add("5.21", "new text start (FIN clear) inside a fragmented binary -> 1002",
        violation_script(frame(OP_BINARY, b"first", fin=False) +
                         frame(OP_TEXT, b"second", fin=False) + frame(OP_CONT, b"end"), 1002))
    frag_echo("5.22", "empty text in 3 empty fragments", OP_TEXT, [b"", b"", b""])
    frag_echo("5.23", "binary with empty fragments around the data", OP_BINARY,
              [b"", b"abc", b"", b"def", b""])
    frag_echo("5.24", "text in 3 fragments, the first one empty, one byte per write", OP_TEXT,
              [b"", b"frag", b"mented"], chop=1)


# Invalid byte sequences (RFC 3629; Markus Kuhn's UTF-8 stress test names the classes).
OVERLONG = [
    ("C0 AF", "'/' in 2 bytes"), ("E0 80 AF", "'/' in 3 bytes"),
    ("F0 80 80 AF", "'/' in 4 bytes"), ("F8 80 80 80 AF", "'/' in 5 bytes"),
    ("FC 80 80 80 80 AF", "'/' in 6 bytes"), ("C1 BF", "U+007F in 2 bytes"),
    ("E0 9F BF", "U+07FF in 3 bytes"), ("F0 8F BF BF", "U+FFFF in 4 bytes"),
    ("C0 80", "NUL in 2 bytes"), ("E0 80 80", "NUL in 3 bytes"),
    ("F0 80 80 80", "NUL in 4 bytes"),
]
SURROGATES = [
    ("ED A0 80", "U+D800"), ("ED AD BF", "U+DB7F"), ("ED AE 80", "U+DB80"),
    ("ED AF BF", "U+DBFF"), ("ED B0 80", "U+DC00"), ("ED BE 80", "U+DF80"),
    ("ED BF BF", "U+DFFF"), ("ED A0 80 ED B0 80", "pair U+D800 U+DC00"),
    ("ED AF BF ED BF BF", "pair U+DBFF U+DFFF"),
]
TOO_HIGH = [
    ("F4 90 80 80", "U+110000"), ("F5 80 80 80", "lead byte F5"),
    ("F7 BF BF BF", "U+1FFFFF"), ("F8 88 80 80 80", "5-byte U+200000"),
    ("FC 84 80 80 80 80", "6-byte U+4000000"), ("FE", "byte FE"), ("FF", "byte FF"),
    ("FE FE FF FF", "bytes FE FE FF FF"),
]
BAD_CONTINUATION = [
    ("80", "lone continuation byte 80"), ("BF", "lone continuation byte BF"),
    ("80 BF 80 BF", "four continuation bytes"), ("C3 28", "2-byte lead then '('"),
    ("E2 28 A1", "3-byte lead then '('"), ("E2 82 28", "3-byte sequence cut by '('"),
    ("F0 28 8C BC", "4-byte lead then '('"), ("F0 90 28 BC", "4-byte sequence cut at 3rd"),
    ("F0 9F 98 28", "4-byte sequence cut at 4th"), ("C3 C3 A9", "lead byte after lead byte"),
    ("E2 82 E2 82 AC", "3-byte sequence restarted"), ("C2 20", "lone 2-byte lead, space"),
    ("E1 20", "lone 3-byte lead, space"), ("F1 20", "lone 4-byte lead, space"),
]
EDGE_CODE_POINTS = [0x0000, 0x007F, 0x0080, 0x07FF, 0x0800, 0xD7FF, 0xE000, 0xFDD0, 0xFEFF,
                    0xFFFD, 0xFFFE, 0xFFFF, 0x10000, 0x1FFFF, 0x10FFFF]
MIXED = "Hello, naïve café! κόσμε € 100 — 中文 😀 𝄞 U+10FFFF=\U0010FFFF".encode()
KOSME = "κόσμε".encode()


def utf8_cases(add):
    def text_echo(cid, title, parts, chop=None, between=None, pongs=()):
        wire = fragmented(OP_TEXT, parts, between)
        message = b"".join(parts)
        assert utf8_valid(message), cid
        add(cid, title, echo_script(wire, [Pong(p) for p in pongs] + [Echo(OP_TEXT, message)],
                                    chop))

    # 6.1: the trivial texts.
    text_echo("6.1.1", "empty text", [b""])
    text_echo("6.1.2", "empty text in 3 empty fragments", [b"", b"", b""])
    text_echo("6.1.3", "ASCII text", [b"Hello, world!"])
    text_echo("6.1.4", "all 128 ASCII code points, NUL included", [bytes(range(128))])

    # 6.2: multi-byte text whole, fragmented anywhere, and chopped anywhere.
    text_echo("6.2.1", "mixed 1- to 4-byte characters in one frame", [MIXED])
    text_echo("6.2.2", "same in 1-byte fragments", split_every(MIXED, 1))
    text_echo("6.2.3", "same in one frame, one byte per write", [MIXED], chop=1)
    text_echo("6.2.4", "same in 1-byte fragments, one byte per write", split_every(MIXED, 1),
              chop=1)
    rng = random.Random(62)
    parts, rest = [], MIXED
    while rest:
        n = rng.randint(1, 5)
        parts.append(rest[:n])
        rest = rest[n:]
    text_echo("6.2.5", "same in random fragments of 1..5 bytes", parts)

    # 6.3: edge code points, each alone in a message.
    for i, cp in enumerate(EDGE_CODE_POINTS, 1):
        text_echo(f"6.3.{i}", f"U+{cp:04X} alone", [chr(cp).encode()])

    # 6.4: valid characters split across fragments at every interior byte.
    n = 1
    for ch in ("é", "€", "😀"):
        b = ch.encode()
        for k in range(1, len(b)):
            text_echo(f"6.4.{n}", f"U+{ord(ch):04X} split {k}|{len(b) - k} across fragments",
                      [b"a" + b[:k], b[k:] + b"z"])
            n += 1
    text_echo("6.4.7", "U+1F600 in four 1-byte fragments", split_every("😀".encode(), 1))
    text_echo("6.4.8", "U+10FFFF split 2|2 across fragments",
              [b"<" + "\U0010FFFF".encode()[:2], "\U0010FFFF".encode()[2:] + b">"])
    text_echo("6.4.9", "U+20AC in 3 fragments with pings between", split_every("€".encode(), 1),
              between={0: ping(b"a"), 1: ping(b"b")}, pongs=[b"a", b"b"])

    # 6.5-6.8: invalid sequences in the middle of a text, fail fast.
    for sub, table, what in ((5, OVERLONG, "overlong"), (6, SURROGATES, "surrogate"),
                             (7, TOO_HIGH, "beyond U+10FFFF:"),
                             (8, BAD_CONTINUATION, "bad sequence:")):
        for i, (hexbytes, name) in enumerate(table, 1):
            message = KOSME + b" " + bytes.fromhex(hexbytes) + b" edited"
            add(f"6.{sub}.{i}", f"{what} {name} ({hexbytes}) -> 1007 fast",
                utf8_fail_fast_script([message]))

    # 6.9: truncated at the end of the message: the client can only tell at the end.
    add("6.9.1", "text ending in C3 -> 1007", utf8_truncated_script([b"caf\xc3"]))
    add("6.9.2", "text ending in E2 82 -> 1007", utf8_truncated_script([b"100 \xe2\x82"]))
    add("6.9.3", "text ending in F0 9F 98 -> 1007", utf8_truncated_script([b"smile \xf0\x9f\x98"]))
    add("6.9.4", "text ending in F4 8F BF -> 1007", utf8_truncated_script([b"max \xf4\x8f\xbf"]))
    add("6.9.5", "last of 2 fragments ending in E2 82 -> 1007",
        utf8_truncated_script([b"abc", b"def\xe2\x82"]))
    add("6.9.6", "fragment ending in C3, then an empty final fragment -> 1007",
        utf8_truncated_script([b"caf\xc3", b""]))
    add("6.9.7", "text ending in F0 9F 98, one byte per write -> 1007",
        utf8_truncated_script([b"smile \xf0\x9f\x98"], chop=1))

    # 6.10: invalid text in fragmented and large messages, fail fast.
    add("6.10.1", "valid fragment, then a fragment with a surrogate -> 1007 fast",
        utf8_fail_fast_script([KOSME, b"x\xed\xa0\x80 edited", b" end"]))
    add("6.10.2", "fragment ending in C3, next starting with '(' -> 1007 fast",
        utf8_fail_fast_script([b"caf\xc3", b"( bad", b" end"]))
    add("6.10.3", "byte FF in the first of 3 fragments -> 1007 before the continuations",
        utf8_fail_fast_script([b"bad \xff", b" more", b" end"]))
    add("6.10.4", "surrogate in 1-byte fragments -> 1007 fast",
        utf8_fail_fast_script(split_every(KOSME + b"\xed\xa0\x80 edited", 1)))
    big = bytearray(ascii_text(65536))
    big[1000] = 0xFF
    add("6.10.5", "64 KiB text frame with byte FF at offset 1000 -> 1007 fast",
        utf8_fail_fast_script([bytes(big)]))
    add("6.10.6", "valid fragment, ping, invalid fragment -> pong, 1007 fast",
        utf8_fail_fast_script([KOSME, b"\xc0\xaf edited"], between={0: ping(b"p")},
                              pongs=[b"p"]))


def close_cases(add):
    def then_close(data, code, chop=None, closing=True, steps=()):
        def script(c):
            c.send(data, chop, closing=closing)
            for step in steps:
                step.check(c)
            c.expect_close(code)
        return script

    add("7.1.1", "text, then close 1000 -> echo, close 1000",
        then_close(text(HELLO) + close_frame(1000), 1000, steps=[Echo(OP_TEXT, HELLO)]))
    add("7.1.2", "two close frames -> one close 1000",
        then_close(close_frame(1000) + close_frame(1001), 1000))
    add("7.1.3", "close, then a ping -> close 1000, no pong",
        then_close(close_frame(1000) + ping(AFTER), 1000))
    add("7.1.4", "close, then text -> close 1000, no echo",
        then_close(close_frame(1000) + text(AFTER), 1000))
    add("7.1.5", "fragment start, close, last fragment -> close 1000, no echo",
        then_close(frame(OP_TEXT, b"frag", fin=False) + close_frame(1000) +
                   frame(OP_CONT, b"mented"), 1000))
    quarter = ascii_text(256 * KiB)
    add("7.1.6", "256 KiB text, then close -> echo, close 1000",
        then_close(text(quarter) + close_frame(1000), 1000, steps=[Echo(OP_TEXT, quarter)]))
    add("7.1.7", "close 1000 with a reason, one byte per write -> close 1000",
        then_close(close_frame(1000, b"one byte at a time"), 1000, chop=1))
    add("7.1.8", "text, ping, close in one write -> echo, pong, close 1000",
        then_close(text(HELLO) + ping(b"last") + close_frame(1000), 1000,
                   steps=[Echo(OP_TEXT, HELLO), Pong(b"last")]))

    def empty_close(c):
        c.send(close_frame(), closing=True)
        ev = c.expect_close(None, 1000)
        c.note("answered with " + ("an empty close" if ev.code is None else "close 1000"))
    add("7.2.1", "close without a code -> empty close (or 1000)", empty_close)
    add("7.2.2", "close with a 1-byte payload -> 1002",
        violation_script(frame(OP_CLOSE, b"\x03"), 1002, closing=True))
    add("7.2.3", "close 1000 without a reason -> 1000", then_close(close_frame(1000), 1000))
    add("7.2.4", "close 1000 with a reason -> 1000",
        then_close(close_frame(1000, b"Hello World!"), 1000))
    add("7.2.5", "close 1000 with a 123-byte reason (the maximum) -> 1000",
        then_close(close_frame(1000, ascii_text(123)), 1000))
    add("7.2.6", "close 1000 with a 123-byte multi-byte UTF-8 reason -> 1000",
        then_close(close_frame(1000, "é".encode() * 61 + b"!"), 1000))
    add("7.2.7", "close 1000 with a 124-byte reason (126-byte payload) -> 1002",
        violation_script(frame(OP_CLOSE, close_payload(1000, ascii_text(124))), 1002,
                         closing=True))
    add("7.2.8", "close reason with byte FF -> 1007",
        violation_script(close_frame(1000, b"bye \xff"), 1007, closing=True))
    add("7.2.9", "close reason with a surrogate -> 1007",
        violation_script(close_frame(1000, b"bye \xed\xa0\x80"), 1007, closing=True))
    add("7.2.10", "close reason ending inside a character -> 1007",
        violation_script(close_frame(1000, b"bye \xe2\x82"), 1007, closing=True))

    valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
             3000, 3999, 4000, 4999]
    for i, code in enumerate(valid, 1):
        add(f"7.3.{i}", f"close {code} -> close {code} echoed",
            then_close(close_frame(code, f"code {code}".encode()), code))
    invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
    for i, code in enumerate(invalid, 1):
        add(f"7.4.{i}", f"close {code} (not allowed on the wire) -> 1002",
            violation_script(close_frame(code), 1002, closing=True))


def limits_cases(add):
    def big_echo(op, wire, payload):
        return echo_script(wire, [Echo(op, payload, BIG_TIMEOUT)])

    sizes = [(64 * KiB, "64 KiB"), (256 * KiB, "256 KiB"), (MiB, "1 MiB"), (4 * MiB, "4 MiB"),
             (16 * MiB, "16 MiB")]
    for sub, op in ((1, OP_TEXT), (2, OP_BINARY)):
        for i, (n, name) in enumerate(sizes, 1):
            # Built when the case runs: the big payloads would otherwise sit in memory.
            add(f"9.{sub}.{i}", f"{OP_NAMES[op]} message of {name} in one frame",
                lazy(lambda op=op, n=n: big_echo(op, frame(op, payload_for(op, n)),
                                                 payload_for(op, n))))
    frags = [(4 * MiB, 4 * KiB, "4 MiB in 4 KiB fragments"),
             (4 * MiB, 64 * KiB, "4 MiB in 64 KiB fragments"),
             (4 * MiB, MiB, "4 MiB in 1 MiB fragments"),
             (16 * MiB, 64 * KiB, "16 MiB in 64 KiB fragments")]
    for sub, op in ((3, OP_TEXT), (4, OP_BINARY)):
        for i, (n, size, name) in enumerate(frags, 1):
            add(f"9.{sub}.{i}", f"{OP_NAMES[op]} message of {name}",
                lazy(lambda op=op, n=n, size=size: big_echo(
                    op, fragmented(op, split_every(payload_for(op, n), size)),
                    payload_for(op, n))))
    chops = [(KiB, "1 KiB"), (64 * KiB, "64 KiB")]
    n = 1
    for op in (OP_TEXT, OP_BINARY):
        for size, name in chops:
            add(f"9.5.{n}", f"{OP_NAMES[op]} message of 1 MiB in one frame, writes of {name}",
                lazy(lambda op=op, size=size: echo_script(
                    frame(op, payload_for(op, MiB)),
                    [Echo(op, payload_for(op, MiB), BIG_TIMEOUT)], chop=size, pause=0)))
            n += 1

    # 9.6: many small messages, streamed and as round trips.
    def burst(op, count, size):
        # Numbered (in ASCII, so text stays UTF-8): a lost or repeated one shows.
        msgs = [payload_for(op, size - 4) + b"%04d" % i if size >= 4 else payload_for(op, size)
                for i in range(count)]
        return echo_script(b"".join(frame(op, m) for m in msgs), [Echo(op, m) for m in msgs])

    def round_trips(c):
        for i in range(1000):
            m = b"round trip %04d" % i
            c.send(text(m))
            c.expect_echo(OP_TEXT, m)
        c.close_normally()
    add("9.6.1", "1000 text messages of 64 bytes in one write", burst(OP_TEXT, 1000, 64))
    add("9.6.2", "1000 binary messages of 64 bytes in one write", burst(OP_BINARY, 1000, 64))
    add("9.6.3", "1000 empty binary messages in one write", burst(OP_BINARY, 1000, 0))
    add("9.6.4", "1000 text round trips, one message at a time", round_trips)

    # 9.7: a message above any sane echo limit (wsc-testee accepts 17 MiB) must be
    # refused with 1009 as soon as its size is known, not after 64 MiB arrived.
    huge = 64 * MiB

    def too_big_frame(op):
        def script(c):
            c.send(header(op, huge) + payload_for(op, 4 * KiB))
            c.expect_close_fast(1009, lambda: payload_for(op, huge - 4 * KiB))
            c.frame_left_open()
        return script

    def too_big_fragments(op, size):
        def script(c):
            chunk, sent = payload_for(op, size), 0
            while sent < huge:
                c.send(frame(op if sent == 0 else OP_CONT, chunk, fin=sent + size == huge))
                sent += size
                ev = c.event(0)  # a poll: has the client given up already?
                if ev.kind != "timeout":
                    if ev.kind == "close" and ev.code == 1009:
                        c.note(f"close 1009 seen once {sent // MiB} MiB were sent")
                        return
                    raise CaseFailed(f"expected close 1009, got {ev.describe()}")
            ev = c.event()
            raise CaseFailed(f"expected close 1009 before all 64 MiB were sent, got "
                             f"{ev.describe()}")
        return script
    add("9.7.1", "binary frame header claiming 64 MiB -> 1009 at the header",
        too_big_frame(OP_BINARY))
    add("9.7.2", "text frame header claiming 64 MiB -> 1009 at the header",
        too_big_frame(OP_TEXT))
    add("9.7.3", "binary message growing in 1 MiB fragments to 64 MiB -> 1009 on the way",
        too_big_fragments(OP_BINARY, MiB))


def compression_cases(add):
    """12: compressed messages of many sizes with context takeover both ways, split
    into frames, with final blocks, and hostile ones; 13: the same traffic under each
    context-takeover and window parameter. The client's echoes are inflated with the
    agreed window and context, so it must keep its promises too."""
    def messages(op, size, count):
        # Messages that repeat each other but not themselves (random printable text):
        # with context takeover a compressor refers to the previous message, as far
        # back as its window allows. One that ignores an agreed window or context
        # then refers further than our inflater can follow.
        rnd = random.Random(size)
        base = bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 ,.")
                     for _ in range(size))
        return [base[:max(size - 4, 0)] + (b"%04d" % i)[:size] for i in range(count)]

    def compressed_echo(op, size, count=10, frame_size=None, final_block=False,
                        pings=False):
        def script(c):
            for m in messages(op, size, count):
                frames = c.pmd.frame_list(op, m, frame_size, final_block)
                # With pings: one after the first frame, between the fragments.
                ping_between = pings and len(frames) > 1
                if ping_between:
                    frames.insert(1, ping(b"z"))
                c.send(b"".join(frames))
                if ping_between:
                    c.expect_pong(b"z")
                c.expect_echo(op, m, BIG_TIMEOUT)
            c.close_normally()
        return script

    sizes = [16, 64, 256, 1024, 4096, 16 * KiB, 64 * KiB, 256 * KiB]
    for sub, op in ((1, OP_TEXT), (2, OP_BINARY)):
        for i, n in enumerate(sizes, 1):
            add(f"12.{sub}.{i}", f"10 compressed {OP_NAMES[op]} messages of {n} bytes",
                compressed_echo(op, n), deflate={})
    for i, (n, fs) in enumerate([(4096, 1), (4096, 7), (64 * KiB, 100), (256 * KiB, 4096)], 1):
        add(f"12.3.{i}", f"compressed text of {n} bytes in frames of {fs} compressed "
            "bytes, a ping between the first two",
            compressed_echo(OP_TEXT, n, 3, frame_size=fs, pings=True), deflate={})
    # 7.2.3.4: data ended with a BFINAL block (then a 00 byte) instead of a sync flush;
    # the server's context is not kept, so it promises no context takeover.
    for i, n in enumerate([0, 5, 4096], 1):
        add(f"12.4.{i}", f"compressed text of {n} bytes ending with a BFINAL block",
            compressed_echo(OP_TEXT, n, 3, final_block=True),
            deflate={"server_no_context_takeover": True})

    def zeros_bomb(c):
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        data = b"".join(comp.compress(b"\0" * MiB) for _ in range(64))
        data += comp.flush(zlib.Z_SYNC_FLUSH)
        c.send(text(HELLO))
        c.expect_echo(OP_TEXT, HELLO)
        c.send(frame(OP_BINARY, data[:-4], rsv=4) + text(AFTER))
        c.expect_close(1009, timeout=BIG_TIMEOUT)

    def corrupt(c):
        c.send(text(HELLO) + frame(OP_BINARY, b"\xff\xff\xff\xff", rsv=4) + text(AFTER))
        c.expect_echo(OP_TEXT, HELLO)
        c.expect_close(1007)

    def bad_text(c):
        c.send(text(HELLO) + c.pmd.frames(OP_TEXT, b"caf\xc3\xa9 \xc3\x28") + text(AFTER))
        c.expect_echo(OP_TEXT, HELLO)
        c.expect_close(1007)

    def rsv1_continuation(c):
        data = c.pmd.compress(b"two frames")
        c.send(text(HELLO) + frame(OP_TEXT, data[:2], fin=False, rsv=4) +
               frame(OP_CONT, data[2:], rsv=4) + text(AFTER))
        c.expect_echo(OP_TEXT, HELLO)
        c.expect_close(1002)

    def rsv1_ping(c):
        c.send(text(HELLO) + frame(OP_PING, b"x", rsv=4) + text(AFTER))
        c.expect_echo(OP_TEXT, HELLO)
        c.expect_close(1002)

    add("12.5.1", "compressed message inflating to 64 MiB (about 64 KiB sent) -> 1009",
        zeros_bomb, deflate={})
    add("12.5.2", "compressed message that is not DEFLATE data -> 1007", corrupt, deflate={})
    add("12.5.3", "compressed text that inflates to invalid UTF-8 -> 1007", bad_text,
        deflate={})
    add("12.5.4", "RSV1 on a continuation frame -> 1002", rsv1_continuation, deflate={})
    add("12.5.5", "RSV1 on a ping -> 1002", rsv1_ping, deflate={})

    params = [
        ("context takeover both ways", {}),
        ("server_no_context_takeover", {"server_no_context_takeover": True}),
        ("client_no_context_takeover", {"client_no_context_takeover": True}),
        ("no context takeover either way", {"server_no_context_takeover": True,
                                            "client_no_context_takeover": True}),
        ("server_max_window_bits=9", {"server_max_window_bits": 9}),
        ("client_max_window_bits=9", {"client_max_window_bits": 9}),
        ("server_max_window_bits=12; client_max_window_bits=12",
         {"server_max_window_bits": 12, "client_max_window_bits": 12}),
        ("windows of 9 bits, no context takeover",
         {"server_no_context_takeover": True, "client_no_context_takeover": True,
          "server_max_window_bits": 9, "client_max_window_bits": 9}),
    ]
    for i, (name, answer) in enumerate(params, 1):
        for sub, (n, count) in enumerate([(64, 20), (4096, 10), (64 * KiB, 4)], 1):
            add(f"13.{i}.{sub}", f"{name}: {count} text messages of {n} bytes",
                compressed_echo(OP_TEXT, n, count), deflate=answer)


def lazy(make):
    """A script built only when its case runs (for cases with large payloads)."""
    def script(c):
        return make()(c)
    return script


def all_cases():
    cases = []

    def add(cid, title, script, burst=b"", deflate=None):
        cases.append(Case(cid, title, script, burst, deflate))
    for build in (framing_cases, ping_cases, rsv_cases, opcode_cases, fragmentation_cases,
                  utf8_cases, close_cases, limits_cases, compression_cases):
        build(add)
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    # Numeric order ("4.1.11" before "4.2.1"), which is also the /runCase numbering.
    return sorted(cases, key=lambda c: [int(n) for n in c.id.split(".")])


# --------------------------------------------------------------------------- results


class Results:
    """Verdicts per agent and case id, and the reports made of them."""

    def __init__(self, cases, report_path):
        self.cases = cases
        self.report_path = report_path
        self.lock = threading.Condition()
        self.verdicts = {}  # agent -> {case id: (passed, detail, ms)}
        self.running = 0    # cases in progress; a report waits for them

    def started(self):
        with self.lock:
            self.running += 1

    def record(self, agent, case, passed, detail, ms):
        with self.lock:
            self.verdicts.setdefault(agent, {})[case.id] = (passed, detail, ms)
            self.running -= 1
            self.lock.notify_all()

    def report(self, agent):
        with self.lock:
            self.lock.wait_for(lambda: self.running == 0, timeout=10)
            got = dict(self.verdicts.get(agent, {}))
        out = [f"wsc conformance report: agent {agent}, {len(self.cases)} cases", ""]
        total_pass = total_fail = 0
        for cat, name in CATEGORIES.items():
            cases = [c for c in self.cases if c.category == cat]
            if not cases:
                continue
            out.append(f"{cat} {name}")
            out.append(f"  {'case':<8} {'result':<7} {'ms':>6}  description")
            passed = 0
            for case in cases:
                ok, detail, ms = got.get(case.id, (False, "not run", None))
                passed += ok
                result = "pass" if ok else ("NOT RUN" if ms is None else "FAIL")
                shown = "-" if ms is None else str(ms)
                out.append(f"  {case.id:<8} {result:<7} {shown:>6}  {case.title}")
                if detail and ms is not None:
                    out.append(f"  {'':<8} {'':<7} {'':>6}    {detail}")
            out.append(f"  category {cat}: {passed} of {len(cases)} cases passed")
            out.append("")
            total_pass += passed
            total_fail += len(cases) - passed
        out.append(f"{total_pass} passed, {total_fail} failed")
        return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- HTTP


class BadRequest(Exception):
    def __init__(self, status, why):
        super().__init__(why)
        self.status, self.why = status, why


def read_head(sock):
    """Reads the request head; returns (head, bytes after it)."""
    data = b""
    sock.settimeout(EVENT_TIMEOUT)
    while b"\r\n\r\n" not in data:
        if len(data) > REQUEST_HEAD_MAX:
            raise BadRequest("431 Request Header Fields Too Large", "request head too long")
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("client closed during the handshake")
        data += chunk
    end = data.index(b"\r\n\r\n") + 4
    return data[:end], data[end:]


def request_target(head):
    """The path and query of a `GET <target> HTTP/1.1` request line."""
    line = head.decode("latin-1").split("\r\n", 1)[0]
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != "GET" or parts[2] != "HTTP/1.1":
        raise BadRequest("400 Bad Request", f"request line {line!r}")
    return urlsplit(parts[1])


def check_upgrade(head):
    """Checks the RFC 6455 4.1 opening handshake; returns the Sec-WebSocket-Accept value."""
    lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or name != name.strip():
            raise BadRequest("400 Bad Request", f"header line {line!r}")
        name = name.lower()
        value = value.strip(" \t")
        fields[name] = fields[name] + ", " + value if name in fields else value

    def tokens(name):
        return [t.strip().lower() for t in fields.get(name, "").split(",")]
    if "host" not in fields:
        raise BadRequest("400 Bad Request", "no Host header")
    if "websocket" not in tokens("upgrade"):
        raise BadRequest("400 Bad Request", "no 'Upgrade: websocket'")
    if "upgrade" not in tokens("connection"):
        raise BadRequest("400 Bad Request", "no 'Connection: Upgrade'")
    if fields.get("sec-websocket-version") != "13":
        raise BadRequest("400 Bad Request", "Sec-WebSocket-Version is not 13")
    key = fields.get("sec-websocket-key", "")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except (binascii.Error, ValueError):
        raise BadRequest("400 Bad Request", f"Sec-WebSocket-Key {key!r} is not 16 bytes "
                         "in base64") from None
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def response_101(accept, extra=""):
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
            f"{extra + chr(13) + chr(10) if extra else ''}\r\n").encode()


def plain_response(sock, status, body):
    body = (body + "\n").encode()
    try:
        sock.sendall(f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    except OSError:
        pass


# --------------------------------------------------------------------------- server


class Server:
    def __init__(self, cases, results, verbose):
        self.cases, self.results, self.verbose = cases, results, verbose
        self.stdout_lock = threading.Lock()

    def handle(self, sock):
        """One connection: the opening handshake, then what its path asks for."""
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        case = agent = None
        try:
            head, leftover = read_head(sock)
            url = request_target(head)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            agent = query.get("agent")
            if url.path == "/runCase":
                number = query.get("case", "")
                if not number.isdigit() or not 1 <= int(number) <= len(self.cases):
                    raise BadRequest("404 Not Found", f"no case {number!r}")
                if not agent:
                    raise BadRequest("400 Bad Request", "no agent")
                case = self.cases[int(number) - 1]
                self.results.started()
            elif url.path == "/updateReports" and not agent:
                raise BadRequest("400 Bad Request", "no agent")
            elif url.path not in ("/getCaseCount", "/updateReports"):
                raise BadRequest("404 Not Found", f"no resource {url.path}")
            accept = check_upgrade(head)
        except BadRequest as e:
            plain_response(sock, e.status, e.why)
            if case:
                self.verdict(agent, case, False, f"opening handshake refused: {e.why}", 0)
            sock.close()
            return
        except OSError as e:
            if case:
                self.verdict(agent, case, False, f"opening handshake failed: {e}", 0)
            sock.close()
            return

        conn = Conn(sock, leftover)
        try:
            if case:
                self.run_case(conn, accept, agent, case, head)
            elif url.path == "/getCaseCount":
                conn.send(response_101(accept))
                self.say_and_close(conn, text(str(len(self.cases))))
            else:
                conn.send(response_101(accept))
                report = self.results.report(agent)
                self.publish(report)
                self.say_and_close(conn, b"")
        finally:
            conn.drop()

    def say_and_close(self, conn, data):
        """Sends data and our close 1000, then waits (bounded) for the client's close."""
        conn.send(data + close_frame(1000), closing=True)
        try:
            deadline = time.monotonic() + EVENT_TIMEOUT
            while time.monotonic() < deadline:
                if conn.event(deadline - time.monotonic()).kind in ("close", "eof", "reset",
                                                                     "timeout"):
                    break
        except CaseFailed:
            pass  # only the cases are judged

    def run_case(self, conn, accept, agent, case, head):
        start = time.monotonic()
        extra = ""
        if case.deflate is not None:
            # RFC 7692 5: accept the first offer our answer fits; none: the case fails.
            conn.pmd = Deflate(case.deflate)
            offers = deflate_offers(head)
            why = [conn.pmd.accepts(o) for o in offers]
            if None not in why:
                reason = why[0] if why else "no permessage-deflate offer (testee --compress?)"
                self.verdict(agent, case, False, f"cannot agree on compression: {reason}",
                             0)
                plain_response(conn.sock, "400 Bad Request", reason)
                return
            extra = conn.pmd.header_line()
        conn.send(response_101(accept, extra) + case.burst)
        try:
            case.script(conn)
            conn.finish()
            passed, detail = True, "; ".join(conn.notes)
        except ClientViolation as e:
            passed, detail = False, f"client broke RFC 6455: it {e}"
        except CaseFailed as e:
            passed, detail = False, str(e)
        except Exception as e:  # a bug here must show in the report, not hang the run
            passed, detail = False, f"server error: {type(e).__name__}: {e}"
        ms = int((time.monotonic() - start) * 1000)
        # Recorded before the socket closes: the testee moves on only after that.
        self.verdict(agent, case, passed, detail, ms)

    def verdict(self, agent, case, passed, detail, ms):
        self.results.record(agent, case, passed, detail, ms)
        if self.verbose:
            print(f"{case.id} {'pass' if passed else 'FAIL'} {ms} ms {detail}", file=sys.stderr,
                  flush=True)

    def publish(self, report):
        if self.results.report_path:
            with open(self.results.report_path, "w", encoding="utf-8") as f:
                f.write(report)
        with self.stdout_lock:
            sys.stdout.write(report)
            sys.stdout.flush()


def select_cases(cases, patterns):
    if not patterns:
        return cases
    wanted = [p.strip() for p in patterns.split(",") if p.strip()]
    return [c for c in cases if any(fnmatch.fnmatchcase(c.id, p) for p in wanted)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=120.0,
                    help="exit by itself after this many seconds")
    ap.add_argument("--report", help="write each agent's report to this file")
    ap.add_argument("--cases", help='comma-separated case id patterns, e.g. "1.*,6.4.*"')
    ap.add_argument("--list", action="store_true", help="print the selected cases and exit")
    ap.add_argument("--verbose", action="store_true", help="log each verdict to stderr")
    args = ap.parse_args()

    cases = select_cases(all_cases(), args.cases)
    if not cases:
        ap.error(f"no case matches {args.cases!r}")
    if args.list:
        for i, c in enumerate(cases, 1):
            print(f"{i:4} {c.id:<8} {c.title}")
        return

    server = Server(cases, Results(cases, args.report), args.verbose)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(64)
    print(f"PORT {listener.getsockname()[1]}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    deadline = time.monotonic() + args.lifetime
    listener.settimeout(0.2)  # notice SIGTERM and the lifetime promptly
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            sock, _ = listener.accept()
        except OSError:  # the timeout, or an aborted connection
            continue
        threading.Thread(target=server.handle, args=(sock,), daemon=True).start()
    listener.close()
    sys.stdout.flush()
    # Connection threads may sit in blocking calls; don't wait for them.
    os._exit(0)


if __name__ == "__main__":
    main()
