// The reference SDK's side of the comparison in README "Performance": the same key
// generation + storage encryption that `xmtp-ledger init` does, done by @xmtp/xmtp-js 13.0.4
// with an ethers wallet of the public test mnemonic (an in-memory key, no device, no
// network). Prints the median per identity.
//
//   npm ci --prefix tests/interop            # @xmtp/xmtp-js 13.0.4 + ethers 6
//   node benches/js/sdk-bench.mjs [ITERATIONS]
//
// XMTP_SDK_DIR: a directory whose node_modules holds @xmtp/xmtp-js and ethers (default:
// tests/interop of this repo). SDK_BENCH_ITERATIONS (or the first argument): timed
// identities (default 300), after SDK_BENCH_WARMUP untimed ones (default 30).
//
// Per identity, exactly what the SDK's KeyGeneratorKeystoreProvider does before it
// publishes (NetworkKeyManager.toEncryptedBytes is not exported, so its body is repeated
// here with the SDK's exported functions):
//   1. PrivateKeyBundleV1.generate(wallet): identity key, the wallet's signature of the
//      "XMTP : Create Identity" text, a pre-key signed by the identity key;
//   2. bundle.encode(), a random 32-byte wallet pre-key, the wallet's signature of the
//      "XMTP : Enable Identity" text, viem's verifyMessage of it (the SDK starts it without
//      awaiting; awaited here so its work is counted), encrypt() (HKDF-SHA256 +
//      AES-256-GCM, WebCrypto), EncryptedPrivateKeyBundle encoding.
// The Rust counterpart is `flow::generate_identity` with `LocalKeySigner`
// (`xmtp-ledger-bench` row "generate + encrypt, in-memory wallet key", criterion
// `generate_local_key`), which also verifies the Create Identity signature and the whole
// bundle and encodes both contact bundles: it does strictly more work.

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
const { PrivateKeyBundleV1, encrypt } = xmtp;
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

const iterations = Number(process.argv[2] || process.env.SDK_BENCH_ITERATIONS || 300);
const warmup = Number(process.env.SDK_BENCH_WARMUP || 30);
if (!Number.isInteger(iterations) || iterations < 1 || !Number.isInteger(warmup) || warmup < 0) {
  console.error('sdk-bench: iterations must be a positive integer, warmup a non-negative one');
  process.exit(2);
}

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
const fmt = (ms) => `${ms.toFixed(2)} ms`;
console.log(
  `@xmtp/xmtp-js ${sdkVersion}, ethers ${ethersVersion}, Node ${process.version}, ` +
    `${os.cpus()[0]?.model ?? 'unknown CPU'}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
);
console.log(
  `generate + encrypt per identity (reference SDK): median ${fmt(median)}, ` +
    `p90 ${fmt(percentile(samples, 90))}, n = ${iterations} (after ${warmup} warm-up)`,
);
console.log(`median_ms=${median.toFixed(4)}`);
