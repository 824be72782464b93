// Makes tests/data/v3-inbox-ids.json and tests/data/v3-identity-updates.json: XMTP v3 known
// answers produced by libxmtp itself (@xmtp/node-sdk over @xmtp/node-bindings, native), for the
// Rust v3 protocol core to reproduce.
//
//   ./node-v3 gen-v3-vectors.mjs OUT_DIR     (OUT_DIR is normally ../data)
//
// Inbox ids: generateInboxId for addresses in several spellings and nonces, plus the
// addresses libxmtp refuses (with its message).
//
// Identity updates: software EOA signers (ethers wallets of the PUBLIC test mnemonic
// `test … junk`, m/44'/60'/0'/0/i: test keys only) drive node-sdk against v3-recorder.mjs,
// started in this process. For every step the file keeps, in order, each text libxmtp asked a
// wallet to sign (exact string, with the signature the wallet gave), each PublishIdentityUpdate
// as the hex of the IdentityUpdate bytes libxmtp sent, the installation-key (Ed25519)
// signatures found in those updates, and the RPCs the step made. Per inbox, the resulting state
// as libxmtp reports it (Client.fetchInboxStates, checked equal to a live client's
// preferences.fetchInboxState(), 6.0's inboxState(true)). Timestamps and installation keys are fresh on every run: each run differs.
//
// Prints one line on stdout: the JSON summary; diagnostics on stderr.

import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startRecorder } from './v3-recorder.mjs';

const require = createRequire(import.meta.url);
const { HDNodeWallet, Mnemonic, getBytes, verifyMessage } = require('ethers');
const { ed25519ph } = require('@noble/curves/ed25519');
const { Client, IdentifierKind, createBackend, generateInboxId } = await import('@xmtp/node-sdk');
// libxmtp's INSTALLATION_KEY_SIGNATURE_CONTEXT (crates/xmtp_id/src/constants.rs).
const ED25519_CONTEXT = Buffer.from('IDENTITY UPDATE SIGNATURE', 'utf8');

const versionOf = (pkg) =>
  JSON.parse(readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url), 'utf8')).version;
const SDK_VERSION = versionOf('@xmtp/node-sdk');
const BINDINGS_VERSION = versionOf('@xmtp/node-bindings');
const ETHERS_VERSION = versionOf('ethers');
const MNEMONIC = 'test test test test test test test test test test test junk';
const hdPath = (i) => `m/44'/60'/0'/0/${i}`;

for (const k of ['log', 'info', 'warn', 'debug']) {
  console[k] = (...a) => process.stderr.write('[sdk ' + k + '] ' + a.map(String).join(' ') + '\n');
}

function die(msg) {
  process.stderr.write(`gen-v3-vectors: ${msg}\n`);
  process.stdout.write(JSON.stringify({ ok: false, error: msg }) + '\n');
  process.exit(1);
}

const outDir = process.argv[2];
if (!outDir || process.argv.length !== 3) die('usage: ./node-v3 gen-v3-vectors.mjs OUT_DIR');

const hex = (u8) => Buffer.from(u8).toString('hex');
const wallet = (i) => HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(MNEMONIC), hdPath(i));
const ethId = (address) => ({ identifier: address, identifierKind: IdentifierKind.Ethereum });

// ---------------------------------------------------------------------------- inbox ids ---

function inboxIdVectors() {
  const w = [0, 1, 2, 3].map(wallet);
  const spellings = [
    { spelling: 'eip55', address: w[0].address },
    { spelling: 'lowercase', address: w[1].address.toLowerCase() },
    { spelling: 'uppercase hex digits', address: '0x' + w[2].address.slice(2).toUpperCase() },
    { spelling: 'mixed, not EIP-55', address: '0x' + [...w[3].address.slice(2)].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join('') },
  ];
  const nonces = [0n, 1n, 2n, 7n, 4294967296n, 9007199254740993n, 18446744073709551615n];
  const cases = [];
  for (const { spelling, address } of spellings) {
    for (const nonce of nonces) {
      cases.push({ address, spelling, nonce: nonce.toString(), inbox_id: generateInboxId(ethId(address), nonce) });
    }
  }
  // The SDK's default nonce (none given).
  const defaults = spellings.slice(0, 1).map(({ address }) => ({
    address,
    inbox_id_without_nonce: generateInboxId(ethId(address)),
  }));
  const a = w[0].address.toLowerCase();
  const odd = [
    { what: '39 hex digits', address: a.slice(0, -1) },
    { what: '41 hex digits', address: a + '0' },
    { what: 'no 0x prefix', address: a.slice(2) },
    { what: 'non-hex digit', address: a.slice(0, -1) + 'g' },
    { what: 'empty', address: '' },
  ].map(({ what, address }) => {
    try {
      return { what, address, nonce: '0', inbox_id: generateInboxId(ethId(address), 0n) };
    } catch (e) {
      return { what, address, nonce: '0', error: String(e?.message ?? e) };
    }
  });
  return { cases, defaults, odd_addresses: odd };
}

// ---------------------------------------------------------------------- identity updates ---

const rec = await startRecorder();
const backend = await createBackend({ env: 'local', apiUrl: rec.url });
const dbDir = mkdtempSync(path.join(tmpdir(), 'xmtp-v3-vectors-'));
let dbCount = 0;
const signLog = [];

function eoa(w) {
  return {
    type: 'EOA',
    getIdentifier: () => ethId(w.address),
    signMessage: async (text) => {
      const signature = await w.signMessage(text);
      if (verifyMessage(text, signature) !== w.address) die(`wallet ${w.address}: own signature does not recover`);
      signLog.push({ address: w.address, text, signature });
      return getBytes(signature);
    },
  };
}

async function create(w, extra = {}) {
  return Client.create(eoa(w), {
    backend,
    disableDeviceSync: true,
    dbPath: path.join(dbDir, `client-${++dbCount}.db3`),
    ...extra,
  });
}

// Every signature inside a decoded IdentityUpdate: action index, field, kind and bytes (and the
// public key of an installation-key signature).
function signaturesIn(decoded) {
  const out = [];
  (decoded.actions ?? []).forEach((a, action) => {
    const kind = Object.keys(a).find((k) => a[k] && typeof a[k] === 'object');
    for (const [field, sig] of Object.entries(a[kind] ?? {})) {
      if (!field.endsWith('_signature') || !sig) continue;
      const sigKind = Object.keys(sig).find((k) => sig[k] && typeof sig[k] === 'object' && k !== 'signature');
      const entry = { action, field, kind: sigKind };
      if (sigKind === 'installation_key') entry.public_key = hex(sig.installation_key.public_key);
      if (sig[sigKind]?.bytes) entry.signature = hex(sig[sigKind].bytes);
      out.push(entry);
    }
  });
  return out;
}

async function step(inbox, name, call, fn) {
  const signFrom = signLog.length;
  const eventFrom = rec.events.length;
  const value = await fn();
  const events = rec.events.slice(eventFrom);
  const published = events.filter((e) => e.rpc === 'IdentityApi/PublishIdentityUpdate');
  const stored = published.map((e) =>
    rec.state.updates.get(e.inbox_id).find((u) => String(u.sequence_id) === e.sequence_id),
  );
  const s = {
    step: name,
    call,
    wallet_signatures: signLog.slice(signFrom),
    identity_updates: published.map((e) => e.identity_update),
    client_timestamp_ns: stored.map((u) => String(u.decoded.client_timestamp_ns ?? '0')),
    signatures_in_updates: stored.map((u) => signaturesIn(u.decoded)),
    rpcs: events.map((e) => e.rpc + (e.unimplemented ? ' (UNIMPLEMENTED)' : '')),
  };
  // Every installation key signs the wallet's text of its step: Ed25519ph (SHA-512 prehash)
  // with libxmtp's context string. Checked here, so the file only holds signatures that verify.
  const text = s.wallet_signatures.at(-1)?.text;
  for (const [i, sigs] of s.signatures_in_updates.entries()) {
    if (published[i].inbox_id !== inbox.inbox_id) die(`${name}: update for ${published[i].inbox_id}, not ${inbox.inbox_id}`);
    for (const sig of sigs.filter((g) => g.kind === 'installation_key')) {
      if (text === undefined || !ed25519ph.verify(sig.signature, Buffer.from(text, 'utf8'), sig.public_key, { context: ED25519_CONTEXT })) {
        die(`${name}: installation signature ${sig.signature} does not verify over the wallet's text`);
      }
    }
  }
  inbox.steps.push(s);
  process.stderr.write(`${inbox.label}: ${name}: ${s.wallet_signatures.length} wallet signature(s), ${published.length} update(s)\n`);
  return value;
}

const normState = (st) => ({
  inbox_id: st.inboxId,
  recovery_identifier: { identifier: st.recoveryIdentifier.identifier, kind: st.recoveryIdentifier.identifierKind },
  identifiers: st.identifiers.map((i) => ({ identifier: i.identifier, kind: i.identifierKind })).sort((a, b) => a.identifier.localeCompare(b.identifier)),
  installation_ids: st.installations.map((i) => i.id).sort(),
});

async function finish(inbox, liveClient) {
  const [fetched] = await Client.fetchInboxStates([inbox.inbox_id], backend);
  const live = await liveClient.preferences.fetchInboxState();
  inbox.state = normState(fetched);
  if (JSON.stringify(normState(live)) !== JSON.stringify(inbox.state)) {
    die(`${inbox.label}: fetchInboxState ${JSON.stringify(normState(live))} != fetchInboxStates ${JSON.stringify(inbox.state)}`);
  }
}

const W = [0, 1, 2, 3].map(wallet);
const inboxes = [];
let libxmtpVersion;

// Inbox A: the SDK's default nonce, every kind of action.
{
  const inbox = { label: 'A', owner: W[0].address, nonce: '1', inbox_id: generateInboxId(ethId(W[0].address), 1n), steps: [] };
  inboxes.push(inbox);
  const c1 = await step(inbox, 'create', 'Client.create(W0) (nonce: SDK default)', () => create(W[0]));
  libxmtpVersion = c1.libxmtpVersion;
  if (c1.inboxId !== inbox.inbox_id) die(`A: Client.create made ${c1.inboxId}: the default nonce is not 1`);
  const c2 = await step(inbox, 'second installation', 'Client.create(W0) with another database', () => create(W[0]));
  await step(inbox, 'revoke installation', 'client1.revokeInstallations([installation 2])', () =>
    c1.revokeInstallations([c2.installationIdBytes]),
  );
  await step(inbox, 'third installation', 'Client.create(W0) with another database', () => create(W[0]));
  await step(inbox, 'fourth installation', 'Client.create(W0) with another database', () => create(W[0]));
  await step(inbox, 'revoke all other installations', 'client1.revokeAllOtherInstallations()', () =>
    c1.revokeAllOtherInstallations(),
  );
  await step(inbox, 'add address', 'client1.unsafe_addAccount(W1 signer, true)', () => c1.unsafe_addAccount(eoa(W[1]), true));
  const c5 = await step(inbox, 'installation of the added address', 'Client.create(W1) (finds inbox A)', () => create(W[1]));
  if (c5.inboxId !== inbox.inbox_id) die(`A: W1's client joined ${c5.inboxId}`);
  await step(inbox, 'revoke address', 'client1.removeAccount(W1)', () => c1.removeAccount(ethId(W[1].address)));
  await step(inbox, 'change recovery address', 'client1.changeRecoveryIdentifier(W2)', () =>
    c1.changeRecoveryIdentifier(ethId(W[2].address)),
  );
  const c6 = await step(inbox, 'fifth installation', 'Client.create(W0) with another database', () => create(W[0]));
  await step(inbox, 'revoke by the new recovery address', 'Client.revokeInstallations(W2 signer, inbox A, [installation 6]) (static)', () =>
    Client.revokeInstallations(eoa(W[2]), inbox.inbox_id, [c6.installationIdBytes], backend),
  );
  await finish(inbox, c1);
}

// Inbox B: nonce 0 (what the mobile SDKs use), revoked the locked-out way (static, recovery wallet).
{
  const inbox = { label: 'B', owner: W[3].address, nonce: '0', inbox_id: generateInboxId(ethId(W[3].address), 0n), steps: [] };
  inboxes.push(inbox);
  const b1 = await step(inbox, 'create', 'Client.create(W3, { nonce: 0n })', () => create(W[3], { nonce: 0n }));
  if (b1.inboxId !== inbox.inbox_id) die(`B: Client.create made ${b1.inboxId}, not the nonce-0 inbox`);
  const b2 = await step(inbox, 'second installation', 'Client.create(W3, { nonce: 0n }) with another database', () =>
    create(W[3], { nonce: 0n }),
  );
  const b3 = await step(inbox, 'third installation', 'Client.create(W3, { nonce: 0n }) with another database', () =>
    create(W[3], { nonce: 0n }),
  );
  await step(inbox, 'revoke two installations (static)', 'Client.revokeInstallations(W3 signer, inbox B, [installation 1, installation 3]) (static)', () =>
    Client.revokeInstallations(eoa(W[3]), inbox.inbox_id, [b1.installationIdBytes, b3.installationIdBytes], backend),
  );
  await finish(inbox, b2);
}

await rec.close();
rmSync(dbDir, { recursive: true, force: true });

const generator = `tests/interop/gen-v3-vectors.mjs with @xmtp/node-sdk ${SDK_VERSION}, @xmtp/node-bindings ${BINDINGS_VERSION} (libxmtp ${libxmtpVersion ?? 'unknown'}) and ethers ${ETHERS_VERSION} on Node.js ${process.version}`;
const generated_at = new Date().toISOString().slice(0, 10);
const inboxIdsFile = {
  generator,
  generated_at,
  description:
    "XMTP v3 inbox ids from libxmtp's generateInboxId (node-sdk): sha256 of the lowercased address followed by the decimal nonce, in lowercase hex. `cases`: addresses in several spellings with nonces (decimal strings, up to 2^64-1); `defaults`: the SDK's nonce when none is given; `odd_addresses`: inputs with what libxmtp answered (inbox_id, or its error message).",
  ...inboxIdVectors(),
};
const updatesFile = {
  generator,
  generated_at,
  description:
    "XMTP v3 identity logs made by libxmtp (node-sdk Client.create and its inbox management calls) with software EOA wallets of the public test mnemonic, recorded by tests/interop/v3-recorder.mjs. Per inbox, steps in order: each text a wallet was asked to sign (exact, with the 65-byte signature it returned), each PublishIdentityUpdate as the hex of the IdentityUpdate protobuf as libxmtp sent it (client_timestamp_ns decoded alongside), every signature inside those updates (action index, field, kind, bytes; the Ed25519 installation-key ones with their public key, each checked here as Ed25519ph with context 'IDENTITY UPDATE SIGNATURE' over the step's wallet text), and the RPCs the step made, in order. `state`: the inbox as Client.fetchInboxStates reports it after the last step (identifiers and installation ids sorted; kind is the bindings' IdentifierKind, 0 = Ethereum), equal to a live client's preferences.fetchInboxState() (node-sdk 6's form of inboxState(true)).",
  mnemonic: MNEMONIC,
  wallets: W.map((w, i) => ({ name: `W${i}`, hd_path: hdPath(i), address: w.address })),
  inboxes: inboxes.map(({ label, owner, nonce, inbox_id, steps, state }) => ({ label, owner, nonce, inbox_id, steps, state })),
};
writeFileSync(path.join(outDir, 'v3-inbox-ids.json'), JSON.stringify(inboxIdsFile, null, 2) + '\n');
writeFileSync(path.join(outDir, 'v3-identity-updates.json'), JSON.stringify(updatesFile, null, 2) + '\n');
process.stdout.write(
  JSON.stringify({
    ok: true,
    inbox_id_cases: inboxIdsFile.cases.length,
    inboxes: inboxes.map((i) => ({ label: i.label, steps: i.steps.length, updates: i.steps.reduce((n, s) => n + s.identity_updates.length, 0) })),
  }) + '\n',
);
process.exit(0);
