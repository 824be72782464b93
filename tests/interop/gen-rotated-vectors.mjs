// Makes (or checks) tests/data/xmtp-js-rotated-bundles.json: private key bundles with several
// pre-keys, made by the reference SDK (@xmtp/xmtp-js 13.0.4) as a pre-key rotation leaves them.
// Read by tests/rotated_vectors.rs; the check mode is run by tests/interop_js.rs.
//
//   node gen-rotated-vectors.mjs OUT.json       generate (random keys: each run differs)
//   node gen-rotated-vectors.mjs --check FILE   decode every bundle of FILE with xmtp-js and
//                                               re-encode it; exit 1 unless byte-identical, in
//                                               the same pre-key order, with the same contacts
//
// Generation: PrivateKeyBundleV1.generate with an ethers wallet of the PUBLIC test mnemonic
// (m/44'/60'/0'/0/0; test keys only, which is why the secrets may be written out), then
// addPreKey twice, snapshotting after each: bundles with 2 and 3 pre-keys sharing one identity
// key. The contact bundles are the envelopes a real Client.create publishes for the bundle
// (legacy v1 then v2), captured from a stub API client, not re-encoded by this script.
//
// Prints one line on stdout: the JSON summary; diagnostics on stderr.

import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
// CommonJS entry: the ESM one cannot be imported on Node 20 (see sdk-client.mjs).
const xmtp = require('@xmtp/xmtp-js');
const { Client, PrivateKeyBundleV1, StaticKeystoreProvider, buildUserContactTopic } = xmtp;
// The SDK's own protobuf package (its dependency), for the PrivateKeyBundle wrapper.
const { privateKey: privateKeyProto } = require('@xmtp/proto');
const { HDNodeWallet, Mnemonic, Signature, getAddress } = require('ethers');

const SDK = '@xmtp/xmtp-js';
// Not require('…/package.json'): the SDK's "exports" map does not list it.
const versionOf = (pkg) =>
  JSON.parse(readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url), 'utf8')).version;
const SDK_VERSION = versionOf(SDK);
const ETHERS_VERSION = versionOf('ethers');
const MNEMONIC = 'test test test test test test test test test test test junk';
const HD_PATH = "m/44'/60'/0'/0/0";

for (const k of ['log', 'info', 'warn', 'debug']) {
  console[k] = (...a) => process.stderr.write('[sdk ' + k + '] ' + a.map(String).join(' ') + '\n');
}

const hex = (u8) => Buffer.from(u8).toString('hex');
const unhex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function die(msg) {
  process.stderr.write(`gen-rotated-vectors: ${msg}\n`);
  process.stdout.write(JSON.stringify({ ok: false, error: msg }) + '\n');
  process.exit(1);
}

// The two contact envelopes the SDK's Client.create publishes for `bundle` on a network where
// the account has no contact yet: the legacy v1 ContactBundle, then the v2 one.
async function publishedContacts(bundle) {
  const published = [];
  const stubApi = {
    setAuthenticator() {},
    // No contact on the network: Client.create then publishes both versions.
    async *queryIterator() {},
    async query() {
      return [];
    },
    async publish(messages) {
      for (const m of messages) published.push(m);
      return [];
    },
  };
  const client = await Client.create(null, {
    env: 'local',
    privateKeyOverride: bundle.encode(),
    keystoreProviders: [new StaticKeystoreProvider()],
    apiClientFactory: () => stubApi,
    persistConversations: false,
  });
  const topic = buildUserContactTopic(client.address);
  if (published.length !== 2 || published.some((m) => m.contentTopic !== topic)) {
    die(`Client.create published ${JSON.stringify(published.map((m) => m.contentTopic))}, not 2 contacts`);
  }
  return { v1: hex(published[0].message), v2: hex(published[1].message) };
}

const publicKeyHex = (key) => hex(key.publicKey.secp256k1Uncompressed.bytes);
const signedPublicKeyHex = (key) => hex(key.publicKey.toBytes());

// One bundle as the data file holds it.
async function describe(label, bundle, identityWalletSignature) {
  const contacts = await publishedContacts(bundle);
  return {
    label,
    pre_key_count: bundle.preKeys.length,
    // What NetworkKeyManager encrypts into the private store: PrivateKeyBundle{v1}.
    private_key_bundle: hex(bundle.encode()),
    identity: {
      private_key: hex(bundle.identityKey.secp256k1.bytes),
      timestamp_ms: bundle.identityKey.timestamp.toString(),
      public_key_uncompressed: publicKeyHex(bundle.identityKey),
      wallet_signature_rsv: identityWalletSignature,
      signed_public_key_v1: signedPublicKeyHex(bundle.identityKey),
    },
    // Newest first, as the SDK keeps them.
    pre_keys: bundle.preKeys.map((k) => ({
      private_key: hex(k.secp256k1.bytes),
      timestamp_ms: k.timestamp.toString(),
      public_key_uncompressed: publicKeyHex(k),
      signed_public_key_v1: signedPublicKeyHex(k),
    })),
    contact_bundle_v1: contacts.v1,
    contact_bundle_v2: contacts.v2,
  };
}

async function generate(out) {
  const wallet = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(MNEMONIC), HD_PATH);
  const walletSignatures = [];
  const signer = {
    getAddress: () => wallet.getAddress(),
    signMessage: async (m) => {
      const s = await wallet.signMessage(m);
      walletSignatures.push(s);
      return s;
    },
  };
  const bundle = await PrivateKeyBundleV1.generate(signer);
  if (walletSignatures.length !== 1) die(`generate asked the wallet for ${walletSignatures.length} signatures`);
  // As returned by the wallet (r || s || v, v = 27/28), without 0x.
  const identitySignature = Signature.from(walletSignatures[0]).serialized.slice(2);

  const bundles = [];
  for (const count of [2, 3]) {
    // Distinct millisecond timestamps, so "newest first" is visible in the data.
    await sleep(5);
    const before = bundle.preKeys.map(publicKeyHex);
    await bundle.addPreKey();
    const after = bundle.preKeys.map(publicKeyHex);
    // addPreKey must PREPEND (preKeys.unshift) and keep every older pre-key.
    if (after.length !== count || JSON.stringify(after.slice(1)) !== JSON.stringify(before)) {
      die(`addPreKey did not prepend: before ${before}, after ${after}`);
    }
    bundles.push(await describe(`${count} pre-keys`, bundle, identitySignature));
  }

  const file = {
    generator: `tests/interop/gen-rotated-vectors.mjs with ${SDK} ${SDK_VERSION} and ethers ${ETHERS_VERSION} on Node.js ${process.version}`,
    description:
      'Private key bundles after pre-key rotations, made by the reference SDK: PrivateKeyBundleV1.generate ' +
      'then addPreKey (which prepends). The "3 pre-keys" bundle is the "2 pre-keys" one after one more ' +
      `addPreKey. Contacts: the envelopes Client.create publishes for the bundle (v1 then v2). ` +
      'Keys are test keys of the public test mnemonic only.',
    mnemonic: MNEMONIC,
    hd_path: HD_PATH,
    address: getAddress(wallet.address),
    bundles,
  };
  // Decoding what was just made must hold too.
  await check(file);
  writeFileSync(out, JSON.stringify(file, null, 2) + '\n');
  process.stdout.write(JSON.stringify({ ok: true, wrote: out, bundles: bundles.length }) + '\n');
}

// Every bundle of `file` decodes in xmtp-js and re-encodes to the same bytes, with the same keys
// in the same order, the same wallet, and the same published contacts.
async function check(file) {
  const problems = [];
  const expect = (cond, what) => {
    if (!cond) problems.push(what);
  };
  if (!Array.isArray(file.bundles) || file.bundles.length === 0) die('no bundles in file');
  for (const b of file.bundles) {
    const bytes = unhex(b.private_key_bundle);
    // decodePrivateKeyBundle is what the keystore providers call; it is not exported, and it is
    // exactly PrivateKeyBundle.decode + new PrivateKeyBundleV1(v1).
    const wrapper = privateKeyProto.PrivateKeyBundle.decode(bytes);
    expect(wrapper.v1 && !wrapper.v2, `${b.label}: not a PrivateKeyBundle{v1}`);
    const decoded = new PrivateKeyBundleV1(wrapper.v1);
    expect(hex(decoded.encode()) === b.private_key_bundle, `${b.label}: re-encoding differs`);
    expect(decoded.preKeys.length === b.pre_keys.length, `${b.label}: ${decoded.preKeys.length} pre-keys`);
    expect(decoded.preKeys.length === b.pre_key_count, `${b.label}: pre_key_count`);
    decoded.preKeys.forEach((k, i) => {
      const want = b.pre_keys[i] || {};
      expect(publicKeyHex(k) === want.public_key_uncompressed, `${b.label}: pre-key ${i} public key/order`);
      expect(hex(k.secp256k1.bytes) === want.private_key, `${b.label}: pre-key ${i} secret`);
      expect(k.timestamp.toString() === want.timestamp_ms, `${b.label}: pre-key ${i} timestamp`);
      expect(signedPublicKeyHex(k) === want.signed_public_key_v1, `${b.label}: pre-key ${i} signed key`);
    });
    const times = decoded.preKeys.map((k) => k.timestamp.toNumber());
    expect(
      times.every((t, i) => i === 0 || times[i - 1] >= t),
      `${b.label}: pre-keys not newest first (${times})`,
    );
    expect(decoded.getCurrentPreKey() === decoded.preKeys[0], `${b.label}: current pre-key`);
    expect(publicKeyHex(decoded.identityKey) === b.identity.public_key_uncompressed, `${b.label}: identity key`);
    expect(hex(decoded.identityKey.secp256k1.bytes) === b.identity.private_key, `${b.label}: identity secret`);
    expect(decoded.identityKey.timestamp.toString() === b.identity.timestamp_ms, `${b.label}: identity timestamp`);
    expect(signedPublicKeyHex(decoded.identityKey) === b.identity.signed_public_key_v1, `${b.label}: identity signed key`);
    expect(decoded.validatePublicKeys(), `${b.label}: public keys do not match the secrets`);
    const wallet = decoded.identityKey.publicKey.walletSignatureAddress();
    expect(wallet === file.address, `${b.label}: identity key signed by ${wallet}`);
    for (const [i, k] of decoded.preKeys.entries()) {
      expect(await decoded.identityKey.publicKey.verifyKey(k.publicKey), `${b.label}: pre-key ${i} not signed by the identity key`);
    }
    const contacts = await publishedContacts(decoded);
    expect(contacts.v1 === b.contact_bundle_v1, `${b.label}: contact v1 differs`);
    expect(contacts.v2 === b.contact_bundle_v2, `${b.label}: contact v2 differs`);
  }
  if (problems.length) die(problems.join('; '));
}

const args = process.argv.slice(2);
try {
  if (args[0] === '--check' && args.length === 2) {
    const path = args[1];
    let file;
    try {
      file = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      die(`cannot read ${path}: ${e}`);
    }
    await check(file);
    process.stdout.write(
      JSON.stringify({ ok: true, checked: path, sdk: SDK_VERSION, bundles: file.bundles.length }) + '\n',
    );
  } else if (args.length === 1 && !args[0].startsWith('--')) {
    await generate(args[0]);
  } else {
    die('usage: node gen-rotated-vectors.mjs OUT.json | --check FILE');
  }
} catch (e) {
  die(`unexpected error: ${e?.stack || e}`);
}
