#!/usr/bin/python3
"""Echo peer on python3-websockets (Debian's package, 10.4): a real, widely used
server implementation for wsc's integration tests.

Echoes every message as received (text stays text, binary stays binary), selects the
subprotocol "chat" or "superchat" when the client offers one (none offered: none
selected), accepts messages up to --max-size bytes (32 MiB by default) and never
negotiates compression, so what the client sends is what comes back byte for byte.

Prints exactly one line `PORT <n>` once listening; exits on SIGTERM/SIGINT or after
--lifetime seconds. Run with Debian's interpreter: /usr/bin/python3 python_echo.py
"""

import argparse
import asyncio
import signal

import websockets


async def echo(websocket):
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

    server = await websockets.serve(
        echo,
        args.host,
        args.port,
        subprotocols=["chat", "superchat"],
        max_size=args.max_size,
        # A library-initiated keepalive ping would add frames the test didn't ask for.
        ping_interval=args.ping_interval or None,
        compression=None,
        close_timeout=1,
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
    asyncio.run(main(ap.parse_args()))
