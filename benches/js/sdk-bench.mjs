// The reference SDK's side of the comparisons in README "Performance", done by
// @xmtp/xmtp-js 13.0.4 with an ethers wallet of the public test mnemonic (an in-memory key,
// no device, no network). `xmtp-ledger-bench` runs it in the same run, on the same inputs,
// and prints "reference / ours"; it also runs on its own.
//
//   npm ci --prefix tests/interop            # @xmtp/xmtp-js 13.0.4 + ethers 6
//   node benches/js/sdk-bench.mjs [ITERATIONS] [--contact HEX] [--verify-ms MS]
//
// XMTP_SDK_DIR: a directory whose node_modules holds @xmtp/xmtp-js and ethers (default:
// tests/interop of this repo). SDK_BENCH_ITERATIONS (or the first argument): timed
// identities (default 300), after SDK_BENCH_WARMUP untimed ones (default 30).
//
// 1. Generation + encryption, per identity, exactly what the SDK's
//    KeyGeneratorKeystoreProvider does before it publishes (NetworkKeyManager.toEncryptedBytes
//    is not exported, so its body is repeated here with the SDK's exported functions):
//    - PrivateKeyBundleV1.generate(wallet): identity key, the wallet's signature of the
//      "XMTP : Create Identity" text, a pre-key signed by the identity key;
//    - bundle.encode(), a random 32-byte wallet pre-key, the wallet's signature of the
//      "XMTP : Enable Identity" text, viem's verifyMessage of it (the SDK starts it without
//      awaiting; awaited here so its work is counted), encrypt() (HKDF-SHA256 +
//      AES-256-GCM, WebCrypto), EncryptedPrivateKeyBundle encoding.
//    The Rust counterpart is `flow::generate_identity` with `LocalKeySigner`, which also
//    verifies the bundle and encodes both contact bundles: it does strictly more work.
// 2. Verification of a v2 contact bundle (`--contact HEX`, the encoded ContactBundle the
//    Rust side verifies; without it, one the SDK makes from a generated bundle), for
//    `--verify-ms` milliseconds (default 3000) on this one thread: decodeContactBundle,
//    walletSignatureAddress (the wallet recovered from the identity key, as the SDK's
//    getUserContactFromNetwork does) compared with the expected address, and the identity
//    key's verifyKey of the pre-key. The Rust counterpart is `ContactBundle::decode` +
//    `verify`, which checks the same two signatures.
//
// The last lines are `key=value` for the Rust bench: median_ms, p90_ms, iterations,
// verify_us, verify_per_s, verified, sdk_version, node_version.

import { createRequire } from 'node:module';
import { webcrypto } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import os from 'node:os';

const TEST_MNEMONIC = 'test test test test test test test test test test test junk';
const EXPECTED_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const EXPECTED_SDK_VERSION = '13.0.4';

const sdkDir = path.resolve(
  process.env.XMTP_SDK_DIR || fileURLToPath(new URL('../../tests/interop/', import.meta.url)),
);
// The SDK's ESM build does not load on Node 20 (@xmtp/proto's ESM uses extension-less
// imports): load its CommonJS entry. Its own dependencies are resolved from where it is.
const requireFromDir = createRequire(path.join(sdkDir, 'package.json'));
let sdkEntry;
try {
  sdkEntry = requireFromDir.resolve('@xmtp/xmtp-js');
} catch (e) {
  console.error(
    `sdk-bench: @xmtp/xmtp-js is not installed under ${sdkDir}/node_modules ` +
      `(run \`npm ci --prefix tests/interop\`, or set XMTP_SDK_DIR): ${e.message}`,
  );
  process.exit(2);
}
const xmtp = requireFromDir('@xmtp/xmtp-js');
const requireFromSdk = createRequire(sdkEntry);
const { PrivateKeyBundleV1, SignedPublicKeyBundle, decodeContactBundle, encrypt } = xmtp;
const { contact: contactProto } = requireFromSdk('@xmtp/proto');
const { privateKey: proto } = requireFromSdk('@xmtp/proto');
const { verifyMessage, hexToBytes } = requireFromSdk('viem');
const { Wallet } = requireFromDir('ethers');

function packageVersion(req, name) {
  // Walk up from the resolved entry to the package's own package.json.
  let dir = path.dirname(req.resolve(name));
  for (;;) {
    try {
      const pkg = req(path.join(dir, 'package.json'));
      if (pkg.name === name) return pkg.version;
    } catch {
      // keep walking
    }
    const parent = path.dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

const sdkVersion = packageVersion(requireFromDir, '@xmtp/xmtp-js');
const ethersVersion = packageVersion(requireFromDir, 'ethers');
if (sdkVersion !== EXPECTED_SDK_VERSION) {
  console.error(`sdk-bench: expected @xmtp/xmtp-js ${EXPECTED_SDK_VERSION}, found ${sdkVersion}`);
  process.exit(2);
}

// NetworkKeyManager's storageSigRequestText (not exported).
function storageSigRequestText(preKey) {
  return (
    'XMTP : Enable Identity\n' +
    `${Buffer.from(preKey).toString('hex')}\n` +
    '\n' +
    'For more info: https://xmtp.org/signatures/'
  );
}

// KeyGeneratorKeystoreProvider.newKeystore up to the publish: generate, then
// NetworkKeyManager.toEncryptedBytes.
async function generateAndEncrypt(wallet) {
  const bundle = await PrivateKeyBundleV1.generate(wallet);
  const bytes = bundle.encode();
  const wPreKey = webcrypto.getRandomValues(new Uint8Array(32));
  const input = storageSigRequestText(wPreKey);
  const walletAddr = await wallet.getAddress();
  const sig = await wallet.signMessage(input);
  const valid = await verifyMessage({ address: walletAddr, message: input, signature: sig });
  if (!valid) throw new Error('invalid signature');
  const secret = hexToBytes(sig);
  const ciphertext = await encrypt(bytes, secret);
  return proto.EncryptedPrivateKeyBundle.encode({
    v1: { walletPreKey: wPreKey, ciphertext },
  }).finish();
}

function percentile(sorted, p) {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
}

function parseArgs(argv) {
  const options = {
    iterations: Number(process.env.SDK_BENCH_ITERATIONS || 300),
    warmup: Number(process.env.SDK_BENCH_WARMUP || 30),
    contactHex: undefined,
    verifyMs: 3000,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--contact') options.contactHex = argv[++i];
    else if (arg === '--verify-ms') options.verifyMs = Number(argv[++i]);
    else if (/^[0-9]+$/.test(arg)) options.iterations = Number(arg);
    else {
      console.error(`sdk-bench: unknown argument ${arg}`);
      process.exit(2);
    }
  }
  const positive = (n) => Number.isInteger(n) && n >= 1;
  if (!positive(options.iterations) || !Number.isInteger(options.warmup) || options.warmup < 0) {
    console.error('sdk-bench: iterations must be a positive integer, warmup a non-negative one');
    process.exit(2);
  }
  if (!positive(options.verifyMs)) {
    console.error('sdk-bench: --verify-ms must be a positive integer');
    process.exit(2);
  }
  if (options.contactHex !== undefined && !/^([0-9a-f]{2})+$/.test(options.contactHex)) {
    console.error('sdk-bench: --contact takes the encoded ContactBundle in lowercase hex');
    process.exit(2);
  }
  return options;
}

const { iterations, warmup, contactHex, verifyMs } = parseArgs(process.argv.slice(2));

const wallet = Wallet.fromPhrase(TEST_MNEMONIC); // m/44'/60'/0'/0/0
if (wallet.address !== EXPECTED_ADDRESS) {
  console.error(`sdk-bench: test mnemonic gave ${wallet.address}, expected ${EXPECTED_ADDRESS}`);
  process.exit(1);
}

// Sanity: the output decodes as the SDK's own EncryptedPrivateKeyBundle.
const sample = proto.EncryptedPrivateKeyBundle.decode(await generateAndEncrypt(wallet));
if (sample.v1?.walletPreKey?.length !== 32 || !sample.v1?.ciphertext?.aes256GcmHkdfSha256) {
  console.error('sdk-bench: unexpected EncryptedPrivateKeyBundle');
  process.exit(1);
}

for (let i = 0; i < warmup; i++) await generateAndEncrypt(wallet);
const samples = [];
for (let i = 0; i < iterations; i++) {
  const start = performance.now();
  await generateAndEncrypt(wallet);
  samples.push(performance.now() - start);
}
samples.sort((a, b) => a - b);
const median = percentile(samples, 50);
const p90 = percentile(samples, 90);

// What the SDK checks before it trusts a peer's contact bundle, plus the pre-key check.
async function verifyContact(bytes) {
  const bundle = decodeContactBundle(bytes);
  if (!(bundle instanceof SignedPublicKeyBundle)) throw new Error('not a v2 contact bundle');
  const address = await bundle.walletSignatureAddress();
  if (address.toLowerCase() !== EXPECTED_ADDRESS.toLowerCase()) {
    throw new Error(`contact bundle signed by ${address}, expected ${EXPECTED_ADDRESS}`);
  }
  if (!(await bundle.identityKey.verifyKey(bundle.preKey))) {
    throw new Error('pre-key signature does not verify');
  }
}

let contactBytes;
if (contactHex !== undefined) {
  contactBytes = Uint8Array.from(Buffer.from(contactHex, 'hex'));
} else {
  const bundle = await PrivateKeyBundleV1.generate(wallet);
  contactBytes = contactProto.ContactBundle.encode({
    v2: { keyBundle: SignedPublicKeyBundle.fromLegacyBundle(bundle.getPublicKeyBundle()) },
  }).finish();
}
for (let i = 0; i < 64; i++) await verifyContact(contactBytes);
let verified = 0;
const verifyStart = performance.now();
let verifyElapsed = 0;
while (verifyElapsed < verifyMs) {
  for (let i = 0; i < 16; i++) await verifyContact(contactBytes);
  verified += 16;
  verifyElapsed = performance.now() - verifyStart;
}
const verifyUs = (verifyElapsed * 1000) / verified;
const verifyPerS = (verified * 1000) / verifyElapsed;

const fmt = (ms) => `${ms.toFixed(2)} ms`;
console.log(
  `@xmtp/xmtp-js ${sdkVersion}, ethers ${ethersVersion}, Node ${process.version}, ` +
    `${os.cpus()[0]?.model ?? 'unknown CPU'}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
);
console.log(
  `generate + encrypt per identity (reference SDK): median ${fmt(median)}, ` +
    `p90 ${fmt(p90)}, n = ${iterations} (after ${warmup} warm-up)`,
);
console.log(
  `verify a v2 contact bundle (reference SDK): ${Math.round(verifyPerS)} identities/s, ` +
    `${verifyUs.toFixed(1)} µs each, n = ${verified}`,
);
console.log(`median_ms=${median.toFixed(4)}`);
console.log(`p90_ms=${p90.toFixed(4)}`);
console.log(`iterations=${iterations}`);
console.log(`verify_us=${verifyUs.toFixed(3)}`);
console.log(`verify_per_s=${verifyPerS.toFixed(1)}`);
console.log(`verified=${verified}`);
console.log(`sdk_version=${sdkVersion}`);
console.log(`node_version=${process.version}`);
