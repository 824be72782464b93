// Drives the reference XMTP JavaScript SDK (@xmtp/xmtp-js 13.0.4) against an XMTP v2 node's
// REST gateway; run by tests/interop_js.rs.
//
//   NODE_URL=http://127.0.0.1:5555 MNEMONIC="..." [HD_PATH="m/44'/60'/0'/0/0"] MODE=create|load [EXTRA=1] node sdk-client.mjs
//
// MODE=create : only KeyGeneratorKeystoreProvider: generates and publishes a NEW identity.
// MODE=load   : only NetworkKeystoreProvider: must find and decrypt the private-store envelope
//               (fails with "No keystore providers available" if there is none). Never generates keys.
// EXTRA=1     : afterwards also exercise batch-query (canMessage), query (static canMessage,
//               conversations.list) and an NDJSON subscribe + publish round trip.
//
// Prints exactly ONE JSON line on stdout (ok:true|false); diagnostics go to stderr. Exit 0 only on ok.

import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
// The ESM entry of @xmtp/xmtp-js 13.0.4 cannot be imported on Node 20 (@xmtp/proto's ESM build uses
// extension-less relative imports: ERR_MODULE_NOT_FOUND). The CommonJS entry works.
const xmtp = require('@xmtp/xmtp-js');
const { Client, HttpApiClient, NetworkKeystoreProvider, KeyGeneratorKeystoreProvider } = xmtp;
const { HDNodeWallet, Mnemonic, getAddress } = require('ethers');

// Keep stdout for the one JSON line.
for (const k of ['log', 'info', 'warn', 'debug']) {
  console[k] = (...a) => process.stderr.write('[sdk ' + k + '] ' + a.map(String).join(' ') + '\n');
}

const NODE_URL = (process.env.NODE_URL || '').replace(/\/+$/, '');
const MNEMONIC = process.env.MNEMONIC;
const HD_PATH = process.env.HD_PATH || "m/44'/60'/0'/0/0";
const MODE = process.env.MODE || '';
const EXTRA = process.env.EXTRA === '1';

function fail(msg, err) {
  process.stdout.write(
    JSON.stringify({ ok: false, mode: MODE, error: msg, detail: err ? String(err?.stack || err) : undefined }) + '\n',
  );
  process.exit(1);
}
if (!NODE_URL) fail('NODE_URL env var required');
if (!MNEMONIC) fail('MNEMONIC env var required');

const hex = (u8) => Buffer.from(u8).toString('hex');

// Wrap a provider to learn which one produced the keystore.
function tracked(provider, name, record) {
  return {
    async newKeystore(opts, apiClient, wallet) {
      record.tried.push(name);
      const ks = await provider.newKeystore(opts, apiClient, wallet);
      record.used = name;
      return ks;
    },
  };
}

async function main() {
  const wallet = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(MNEMONIC), HD_PATH);
  const record = { tried: [], used: null };
  let providers;
  if (MODE === 'create') providers = [tracked(new KeyGeneratorKeystoreProvider(), 'KeyGenerator', record)];
  else if (MODE === 'load') providers = [tracked(new NetworkKeystoreProvider(), 'Network', record)];
  else fail('MODE must be create or load');

  // What the wallet was asked to sign (first line of each text).
  const signatures = [];
  const signer = {
    getAddress: () => wallet.getAddress(),
    signMessage: async (m) => {
      signatures.push(typeof m === 'string' ? m.split('\n')[0] : '<bytes>');
      return wallet.signMessage(m);
    },
  };

  // The SDK's own HTTP client, recording the topics it publishes to.
  const published = [];
  const apiClientFactory = (options) => {
    const api = new HttpApiClient(options.apiUrl, { appVersion: options.appVersion });
    const publish = api.publish.bind(api);
    api.publish = async (messages) => {
      for (const m of messages) published.push(m.contentTopic);
      return publish(messages);
    };
    return api;
  };

  const options = {
    env: 'local', // only the default URL (overridden by apiUrl), storage key prefix and backup type
    apiUrl: NODE_URL,
    appVersion: 'xmtp-ledger-interop/0.1', // sent as X-App-Version
    apiClientFactory,
    keystoreProviders: providers,
    skipContactPublishing: false,
    persistConversations: false,
  };

  let client;
  try {
    client = await Client.create(signer, options);
  } catch (e) {
    fail(`Client.create failed (providers tried: ${record.tried.join(',')})`, e);
  }

  const out = {
    ok: true,
    mode: MODE,
    hd_path: HD_PATH,
    address: client.address,
    wallet_address: getAddress(wallet.address),
    identity_public_key: hex(client.publicKeyBundle.identityKey.secp256k1Uncompressed.bytes),
    pre_key_public_key: hex(client.publicKeyBundle.preKey.secp256k1Uncompressed.bytes),
    identity_key_timestamp_ms: client.publicKeyBundle.identityKey.timestamp.toString(),
    created: record.used === 'KeyGenerator',
    provider: record.used,
    providers_tried: record.tried,
    wallet_signature_requests: signatures,
    published_topics: [...published],
  };

  if (EXTRA) {
    const extra = {};
    const other = HDNodeWallet.createRandom().address;
    extra.can_message_batch = await client.canMessage([client.address, other]); // batch-query
    extra.can_message_static = await Client.canMessage(client.address, { apiUrl: NODE_URL, env: 'local' }); // query
    extra.conversations = (await client.conversations.list()).length;
    // Subscribe (NDJSON stream) then publish on an open topic, and wait for the envelope.
    const topic = `/xmtp/0/test-interop-${Date.now()}/proto`;
    const got = new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no envelope via subscribe within 5s')), 5000);
      const sub = client.apiClient.subscribe({ contentTopics: [topic] }, (env) => {
        clearTimeout(t);
        sub.unsubscribe().then(() => resolve(env));
      });
    });
    await new Promise((r) => setTimeout(r, 300)); // let the stream open before publishing
    await client.publishEnvelopes([{ contentTopic: topic, message: new Uint8Array([1, 2, 3]) }]);
    const env = await got;
    extra.subscribe_roundtrip = {
      contentTopic: env.contentTopic,
      expected_topic: topic,
      timestampNs: String(env.timestampNs),
      message: hex(env.message),
    };
    out.extra = extra;
  }

  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

main().catch((e) => fail('unexpected error', e));
