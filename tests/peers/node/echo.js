#!/usr/bin/env node
// Echo peer on the npm `ws` package (version pinned in package-lock.json) for wsc's
// integration tests: a second, independent real-world server implementation.
//
// Echoes every message with its type preserved (text stays text, binary stays
// binary), selects the subprotocol "chat" when the client offers it (otherwise none),
// accepts messages up to 32 MiB and, by default, never negotiates compression. ws
// answers pings with pongs by itself (autoPong).
//
// --deflate PARAMS accepts permessage-deflate (RFC 7692): PARAMS is "default" (ws's
// defaults, except that every message is compressed: threshold 0) or a
// comma-separated list of ws's perMessageDeflate options, NAME or NAME=VALUE, such as
// serverNoContextTakeover,clientMaxWindowBits=10,threshold=0 (threshold defaults to 0).
// Each handshake's negotiated extensions are printed as `EXTENSIONS <value>` (or `-`).
//
// Prints exactly one line `PORT <n>` once listening; exits on SIGTERM/SIGINT or after
// --lifetime seconds. Options: --host H (127.0.0.1), --port N (0), --lifetime S (120),
// --deflate PARAMS (none).
'use strict';

const { WebSocketServer } = require('ws');

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 0, lifetime: 120, deflate: null };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in opts) || i + 1 >= argv.length) {
      console.error(`usage: echo.js [--host H] [--port N] [--lifetime S]`);
      process.exit(2);
    }
    opts[name] = name === 'host' || name === 'deflate' ? argv[i + 1] : Number(argv[i + 1]);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

// ws's perMessageDeflate option from --deflate (see the header comment).
function deflateOptions(spec) {
  if (spec === null) return false;
  const o = { threshold: 0 };
  if (spec === 'default') return o;
  for (const item of spec.split(',').filter((x) => x.trim() !== '')) {
    const [name, value] = item.split('=');
    o[name.trim()] = value === undefined ? true : Number(value);
  }
  return o;
}

const server = new WebSocketServer({
  host: opts.host,
  port: opts.port,
  maxPayload: 32 * 1024 * 1024,
  // Off unless asked: compression changes the bytes on the wire.
  perMessageDeflate: deflateOptions(opts.deflate),
  // protocols is the Set the client offered.
  handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
});

server.on('listening', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});

server.on('connection', (ws, req) => {
  if (opts.deflate !== null) {
    process.stdout.write(`EXTENSIONS ${ws.extensions || '-'}\n`);
  }
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
