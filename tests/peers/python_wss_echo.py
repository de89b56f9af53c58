#!/usr/bin/python3
"""wss:// echo peer on python3-websockets (Debian's package, 10.4) for wsc's
end-to-end TLS tests: python_echo.py's echo behind an ssl.SSLContext.

Echoes every message as received (text stays text, binary stays binary),
selects the subprotocol "chat" or "superchat" when the client offers one,
accepts messages up to 32 MiB and never negotiates compression, so what the
client sends comes back byte for byte. Pings are answered by websockets.

TLS: --cert/--key is the server's certificate chain and key (PEM); TLS 1.2 or
later, ALPN "http/1.1". --client-ca FILE requires a client certificate signed
by that CA (mutual TLS); --tls-max 1.2 caps the version.

The request path /info makes the server send one text message before echoing:
    sni=<name|-> alpn=<proto|-> version=<TLSv1.x> client=<subject CN|->
what it saw of the TLS handshake (the client certificate's CN with mutual TLS).

With --log FILE, appends two lines per WebSocket connection, flushed at once:
    HANDSHAKE ok <same fields as /info>
    GET <path>
(a connection whose TLS handshake fails never gets that far: asyncio drops it
before websockets sees it, so a test can check that no request got through).

Prints exactly one line `PORT <n>` once listening, nothing else on stdout;
exits on SIGTERM/SIGINT or after --lifetime seconds (default 120).
Run with Debian's interpreter: /usr/bin/python3 python_wss_echo.py --cert C --key K
"""

import argparse
import asyncio
import logging
import signal
import ssl

import websockets


class Log:
    def __init__(self, path):
        self.path = path

    def line(self, text):
        if self.path:
            with open(self.path, "a") as f:
                f.write(text + "\n")
                f.flush()


def client_cn(obj):
    cert = obj.getpeercert()
    if not cert:
        return "-"
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return "?"


def describe(obj):
    return "sni=%s alpn=%s version=%s client=%s" % (
        getattr(obj, "wsc_sni", None) or "-", obj.selected_alpn_protocol() or "-",
        obj.version(), client_cn(obj))


def make_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if args.tls_max == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    if args.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(args.client_ca)

    # The SNI the client sent is visible only here; keep it on the SSLObject.
    def on_sni(obj, name, _ctx):
        obj.wsc_sni = name
        return None

    ctx.sni_callback = on_sni
    return ctx


async def main(args):
    log = Log(args.log)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    async def echo(websocket, path):
        obj = websocket.transport.get_extra_info("ssl_object")
        info = describe(obj) if obj else "sni=- alpn=- version=- client=-"
        log.line("HANDSHAKE ok " + info)
        log.line("GET " + path)
        try:
            if path == "/info":
                await websocket.send(info)
            async for message in websocket:
                await websocket.send(message)
        except websockets.ConnectionClosed:
            pass  # a client failing the connection is normal in these tests

    server = await websockets.serve(
        echo,
        args.host,
        args.port,
        ssl=make_context(args),
        subprotocols=["chat", "superchat"],
        max_size=32 * 1024 * 1024,
        ping_interval=None,  # no frames the test didn't ask for
        compression=None,
        close_timeout=1,
    )
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    try:
        await asyncio.wait_for(stop, timeout=args.lifetime)
    except asyncio.TimeoutError:
        pass
    server.close()
    try:
        await asyncio.wait_for(server.wait_closed(), timeout=1)
    except asyncio.TimeoutError:
        pass


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="python3-websockets wss:// echo peer")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--cert", required=True, help="server certificate chain, PEM")
    ap.add_argument("--key", required=True, help="its private key, PEM")
    ap.add_argument("--client-ca", help="require a client certificate from this CA")
    ap.add_argument("--tls-max", choices=["1.2", "1.3"], default="1.3")
    ap.add_argument("--log", help="append one line per connection to this file")
    # websockets logs refused handshakes and client errors at ERROR with tracebacks;
    # the log file above says what happened, so keep stderr for real trouble.
    logging.basicConfig(level=logging.CRITICAL)
    asyncio.run(main(ap.parse_args()))
