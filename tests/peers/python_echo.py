#!/usr/bin/python3
"""Echo peer on python3-websockets (Debian's package, 10.4): a real, widely used
server implementation for wsc's integration tests.

Echoes every message as received (text stays text, binary stays binary), selects the
subprotocol "chat" or "superchat" when the client offers one (none offered: none
selected), accepts messages up to --max-size bytes (32 MiB by default) and, by
default, never negotiates compression, so what the client sends is what comes back
byte for byte.

--compress accepts permessage-deflate (RFC 7692) with websockets' own defaults
(server_max_window_bits=12, client_max_window_bits=12, memLevel 5);
--deflate PARAMS accepts it with exactly these server settings, a comma-separated
list of server_no_context_takeover, client_no_context_takeover,
server_max_window_bits=N, client_max_window_bits=N and require_client_max_window_bits
(an empty list: websockets' factory defaults, full windows with context takeover).
Every message it sends is then compressed. With either option, each handshake's
negotiated extensions are printed as a line `EXTENSIONS <value>` (or `EXTENSIONS -`)
on standard output after the PORT line.

Prints exactly one line `PORT <n>` once listening; exits on SIGTERM/SIGINT or after
--lifetime seconds. Run with Debian's interpreter: /usr/bin/python3 python_echo.py
"""

import argparse
import asyncio
import signal

import websockets
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory


def deflate_factory(spec):
    """ServerPerMessageDeflateFactory from "name[=value],..." (see the module doc)."""
    kwargs = {}
    for item in filter(None, (x.strip() for x in spec.split(","))):
        name, _, value = item.partition("=")
        kwargs[name] = int(value) if value else True
    return ServerPerMessageDeflateFactory(**kwargs)


REPORT_EXTENSIONS = False


async def echo(websocket):
    if REPORT_EXTENSIONS:
        ext = websocket.response_headers.get("Sec-WebSocket-Extensions")
        print(f"EXTENSIONS {ext or '-'}", flush=True)
    try:
        async for message in websocket:
            await websocket.send(message)
    except websockets.ConnectionClosed:
        # A client that fails the connection (e.g. a limit test) is normal here.
        pass


async def main(args):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    global REPORT_EXTENSIONS
    REPORT_EXTENSIONS = args.compress or args.deflate is not None
    compression = {}
    if args.deflate is not None:
        compression = {"compression": None, "extensions": [deflate_factory(args.deflate)]}
    elif not args.compress:
        compression = {"compression": None}
    server = await websockets.serve(
        echo,
        args.host,
        args.port,
        subprotocols=["chat", "superchat"],
        max_size=args.max_size,
        # A library-initiated keepalive ping would add frames the test didn't ask for.
        ping_interval=args.ping_interval or None,
        close_timeout=1,
        **compression,
    )
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    try:
        await asyncio.wait_for(stop, timeout=args.lifetime)
    except asyncio.TimeoutError:
        pass
    # Don't let a hung client delay the exit: close, wait briefly, then leave
    # (asyncio.run cancels whatever is still running).
    server.close()
    try:
        await asyncio.wait_for(server.wait_closed(), timeout=1)
    except asyncio.TimeoutError:
        pass

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="python3-websockets echo peer for wsc tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--max-size", type=int, default=32 * 1024 * 1024)
    ap.add_argument("--ping-interval", type=float, default=0.0,
                    help="seconds between server keepalive pings (0: none)")
    ap.add_argument("--compress", action="store_true",
                    help="accept permessage-deflate with websockets' defaults")
    ap.add_argument("--deflate", metavar="PARAMS",
                    help="accept permessage-deflate with these server settings")
    asyncio.run(main(ap.parse_args()))
