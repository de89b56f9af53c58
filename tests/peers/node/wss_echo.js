#!/usr/bin/env node
// wss:// echo peer for wsc's end-to-end TLS tests: the npm `ws` server (version
// pinned in package-lock.json; install.sh installs it) attached to node's own
// https.createServer({cert, key}).
//
// Echoes every message with its type preserved (text stays text, binary stays
// binary), selects the subprotocol "chat" when the client offers it (otherwise
// none), accepts messages up to 32 MiB, never negotiates compression; ws answers
// pings with pongs by itself.
//
// TLS: --cert FILE and --key FILE (PEM) are required; TLS 1.2 or later, ALPN
// "http/1.1". --client-ca FILE requires a client certificate signed by that CA.
// The request path /info makes the server send one text message first:
//   sni=<name|-> alpn=<proto|-> version=<TLSv1.x> client=<subject CN|->
//
// With --log FILE, appends two lines per WebSocket connection, at once (as
// python_wss_echo.py does):
//   HANDSHAKE ok <the same fields as /info>
//   GET <path>
//
// Prints exactly one line `PORT <n>` once listening; exits on SIGTERM/SIGINT or
// after --lifetime seconds. Options: --host H (127.0.0.1), --port N (0),
// --lifetime S (120), --cert FILE, --key FILE, --client-ca FILE, --log FILE.
'use strict';

const fs = require('fs');
const https = require('https');
const { WebSocketServer } = require('ws');

function usage() {
  console.error('usage: wss_echo.js --cert FILE --key FILE [--client-ca FILE] ' +
                '[--log FILE] [--host H] [--port N] [--lifetime S]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 0, lifetime: 120, cert: null, key: null,
                 'client-ca': null, log: null };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in opts) || i + 1 >= argv.length) usage();
    opts[name] = name === 'port' || name === 'lifetime' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!opts.cert || !opts.key) usage();
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

const tlsOptions = {
  cert: fs.readFileSync(opts.cert),
  key: fs.readFileSync(opts.key),
  minVersion: 'TLSv1.2',
  ALPNProtocols: ['http/1.1'],
};
if (opts['client-ca']) {
  tlsOptions.ca = fs.readFileSync(opts['client-ca']);
  tlsOptions.requestCert = true;
  tlsOptions.rejectUnauthorized = true;
}
const httpsServer = https.createServer(tlsOptions, (req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain' });
  res.end('WebSocket only\n');
});
// A client that gives up during the TLS handshake must not end the server.
httpsServer.on('tlsClientError', () => {});

const wss = new WebSocketServer({
  server: httpsServer,
  maxPayload: 32 * 1024 * 1024,
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
});

function describe(sock) {
  const peer = sock.getPeerCertificate();
  const cn = peer && peer.subject && peer.subject.CN ? peer.subject.CN : '-';
  return `sni=${sock.servername || '-'} alpn=${sock.alpnProtocol || '-'} ` +
         `version=${sock.getProtocol()} client=${cn}`;
}

function log(line) {
  if (opts.log) fs.appendFileSync(opts.log, `${line}\n`);
}

wss.on('connection', (ws, req) => {
  const info = describe(req.socket);
  log(`HANDSHAKE ok ${info}`);
  log(`GET ${req.url}`);
  if (req.url === '/info') ws.send(info);
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });
  ws.on('error', () => {});
});

httpsServer.listen(opts.port, opts.host, () => {
  process.stdout.write(`PORT ${httpsServer.address().port}\n`);
});

const quit = () => process.exit(0);
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
setTimeout(quit, opts.lifetime * 1000);
