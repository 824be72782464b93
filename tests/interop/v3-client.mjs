// Drives libxmtp (@xmtp/node-sdk 6.0.0 over @xmtp/node-bindings 1.10.0) against an XMTP v3
// node, for the live interop tests: run it through ./node-v3 (the native module needs
// glibc >= 2.38, see .ci/install-deps).
//
//   ./node-v3 v3-client.mjs create --url URL --address ADDR --sign-command CMD [--db PATH] [--nonce N]
//       Client.create (device sync off) with an EOA signer for ADDR whose signMessage runs CMD
//       with /bin/sh -c, writes the text libxmtp asks to sign on its stdin (no trailing
//       newline), and reads a 0x-prefixed 65-byte hex signature from its stdout (surrounding
//       whitespace ignored); CMD's stderr passes through. Without --db the client keeps no
//       database (dbPath null); without --nonce libxmtp's default (1) applies.
//       stdout: {"ok":true,"inbox_id","installation_id","address"} (address EIP-55), plus
//       "signatures": how many texts CMD signed.
//
//   ./node-v3 v3-client.mjs states --url URL INBOX_ID...
//       Client.fetchInboxStates (static, no client: libxmtp fetches and replays each log).
//       stdout: one line per inbox, in argument order:
//       {"inbox_id","recovery_address","addresses":[…],"installations":[{"id","client_timestamp_ns"}]}
//       addresses lowercase and sorted, installations sorted by id (lowercase hex).
//
//   ./node-v3 v3-client.mjs texts --url URL [--nonce N] ADDRESS...
//       The text libxmtp would have each ADDRESS sign to create its inbox with a new
//       installation (Client.create with disableAutoRegister, then the create-inbox signature
//       request): nothing is signed or published. stdout: one line per address:
//       {"address","nonce","inbox_id","installation_id","text"} (address as given, nonce a
//       decimal string, "default" when --nonce is not given).
//
// On failure: one line {"ok":false,"error"} on stdout and exit 1; diagnostics on stderr.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { getAddress, getBytes } = require('ethers');
const { Client, IdentifierKind, createBackend } = await import('@xmtp/node-sdk');

for (const k of ['log', 'info', 'warn', 'debug']) {
  console[k] = (...a) => process.stderr.write('[sdk ' + k + '] ' + a.map(String).join(' ') + '\n');
}

function fail(msg, err) {
  if (err) process.stderr.write(`v3-client: ${String(err?.stack || err)}\n`);
  process.stdout.write(JSON.stringify({ ok: false, error: msg + (err ? `: ${String(err?.message ?? err)}` : '') }) + '\n');
  process.exit(1);
}

const USAGE = `usage:
  v3-client.mjs create --url URL --address ADDR --sign-command CMD [--db PATH] [--nonce N]
  v3-client.mjs states --url URL INBOX_ID...
  v3-client.mjs texts --url URL [--nonce N] ADDRESS...`;

function parse(argv, known) {
  const opts = {};
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const name = a.slice(2);
      if (!known.includes(name)) fail(`unknown option ${a}\n${USAGE}`);
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      opts[name] = argv[++i];
    } else rest.push(a);
  }
  if (!opts.url) fail(`--url is required\n${USAGE}`);
  return { opts, rest };
}

const parseNonce = (s) => {
  if (s === undefined) return undefined;
  if (!/^[0-9]+$/.test(s) || BigInt(s) >= 1n << 64n) fail(`--nonce ${s}: not a u64`);
  return BigInt(s);
};
const ethId = (address) => ({ identifier: address, identifierKind: IdentifierKind.Ethereum });
const backendFor = (url) => createBackend({ env: 'local', apiUrl: url });

// Runs `cmd` with `text` on stdin; resolves with the 65 signature bytes it printed.
function signWithCommand(cmd, text) {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`sign command exited with ${signal ?? code}`));
      const sig = out.trim();
      if (!/^0x[0-9a-fA-F]{130}$/.test(sig)) {
        return reject(new Error(`sign command printed ${JSON.stringify(out.slice(0, 200))}, not a 0x-prefixed 65-byte hex signature`));
      }
      resolve(getBytes(sig));
    });
    child.stdin.on('error', () => {}); // a command that exits without reading: reported by 'close'
    child.stdin.end(text, 'utf8');
  });
}

async function create(argv) {
  const { opts, rest } = parse(argv, ['url', 'address', 'sign-command', 'db', 'nonce']);
  if (rest.length) fail(`unexpected argument ${rest[0]}\n${USAGE}`);
  if (!opts.address || !opts['sign-command']) fail(`--address and --sign-command are required\n${USAGE}`);
  const nonce = parseNonce(opts.nonce);
  let signatures = 0;
  const signer = {
    type: 'EOA',
    getIdentifier: () => ethId(opts.address),
    signMessage: async (text) => {
      signatures++;
      return signWithCommand(opts['sign-command'], text);
    },
  };
  let client;
  try {
    client = await Client.create(signer, {
      backend: await backendFor(opts.url),
      disableDeviceSync: true,
      dbPath: opts.db ?? null,
      ...(nonce === undefined ? {} : { nonce }),
    });
  } catch (e) {
    fail('Client.create failed', e);
  }
  let address;
  try {
    address = getAddress(opts.address);
  } catch {
    address = opts.address;
  }
  process.stdout.write(
    JSON.stringify({ ok: true, inbox_id: client.inboxId, installation_id: client.installationId, address, signatures }) + '\n',
  );
}

async function states(argv) {
  const { opts, rest } = parse(argv, ['url']);
  if (!rest.length) fail(`states needs at least one INBOX_ID\n${USAGE}`);
  let got;
  try {
    got = await Client.fetchInboxStates(rest, await backendFor(opts.url));
  } catch (e) {
    fail('Client.fetchInboxStates failed', e);
  }
  const byId = new Map(got.map((s) => [s.inboxId, s]));
  const lines = rest.map((id) => {
    const s = byId.get(id);
    if (!s) fail(`Client.fetchInboxStates returned no state for ${id} (got ${JSON.stringify([...byId.keys()])})`);
    return {
      inbox_id: s.inboxId,
      recovery_address: s.recoveryIdentifier.identifier.toLowerCase(),
      addresses: s.identifiers
        .filter((i) => i.identifierKind === IdentifierKind.Ethereum)
        .map((i) => i.identifier.toLowerCase())
        .sort(),
      installations: s.installations
        .map((i) => ({
          id: i.id.toLowerCase(),
          ...(i.clientTimestampNs === undefined ? {} : { client_timestamp_ns: String(i.clientTimestampNs) }),
        }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    };
  });
  for (const l of lines) process.stdout.write(JSON.stringify(l) + '\n');
}

async function texts(argv) {
  const { opts, rest } = parse(argv, ['url', 'nonce']);
  if (!rest.length) fail(`texts needs at least one ADDRESS\n${USAGE}`);
  const nonce = parseNonce(opts.nonce);
  const backend = await backendFor(opts.url);
  for (const address of rest) {
    const signer = {
      type: 'EOA',
      getIdentifier: () => ethId(address),
      signMessage: () => {
        throw new Error('texts signs nothing');
      },
    };
    try {
      const client = await Client.create(signer, {
        backend,
        disableDeviceSync: true,
        disableAutoRegister: true,
        dbPath: null,
        ...(nonce === undefined ? {} : { nonce }),
      });
      const request = await client.unsafe_createInboxSignatureRequest();
      if (!request) fail(`${address}: libxmtp has no create-inbox request (the installation is already registered)`);
      const text = await request.signatureText();
      process.stdout.write(
        JSON.stringify({
          address,
          nonce: nonce === undefined ? 'default' : nonce.toString(),
          inbox_id: client.inboxId,
          installation_id: client.installationId,
          text,
        }) + '\n',
      );
    } catch (e) {
      fail(`${address}: the create-inbox text`, e);
    }
  }
}

const [cmd, ...argv] = process.argv.slice(2);
const commands = { create, states, texts };
if (!commands[cmd]) fail(`unknown command ${JSON.stringify(cmd ?? '')}\n${USAGE}`);
try {
  await commands[cmd](argv);
} catch (e) {
  fail(`${cmd} failed`, e);
}
process.exit(0);
