#!/usr/bin/env node
// Echo peer on the npm `ws` package (version pinned in package-lock.json) for wsc's
// integration tests: a second, independent real-world server implementation.
//
// Echoes every message with its type preserved (text stays text, binary stays
// binary), selects the subprotocol "chat" when the client offers it (otherwise none),
// accepts messages up to 32 MiB and never negotiates compression. ws answers pings
// with pongs by itself (autoPong).
//
// Prints exactly one line `PORT <n>` once listening; exits on SIGTERM/SIGINT or after
// --lifetime seconds. Options: --host H (127.0.0.1), --port N (0), --lifetime S (120).
'use strict';

const { WebSocketServer } = require('ws');

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 0, lifetime: 120 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in opts) || i + 1 >= argv.length) {
      console.error(`usage: echo.js [--host H] [--port N] [--lifetime S]`);
      process.exit(2);
    }
    opts[name] = name === 'host' ? argv[i + 1] : Number(argv[i + 1]);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

const server = new WebSocketServer({
  host: opts.host,
  port: opts.port,
  maxPayload: 32 * 1024 * 1024,
  // Compression would change the bytes on the wire and wsc does not offer it anyway.
  perMessageDeflate: false,
  // protocols is the Set the client offered.
  handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
});

server.on('listening', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});

server.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });
  // Protocol errors from a client under test end that connection, not the server.
  ws.on('error', () => {});
});

const quit = () => process.exit(0);
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
setTimeout(quit, opts.lifetime * 1000);
