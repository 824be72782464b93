// Drives the reference XMTP JavaScript SDK (@xmtp/xmtp-js 13.0.4) against an XMTP v2 node's
// REST gateway; run by tests/interop_js.rs.
//
//   NODE_URL=http://127.0.0.1:5555 MNEMONIC="..." [HD_PATH="m/44'/60'/0'/0/0"] MODE=create|load|send|read [EXTRA=1] node sdk-client.mjs
//
// MODE=create : only KeyGeneratorKeystoreProvider: generates and publishes a NEW identity.
// MODE=load   : only NetworkKeystoreProvider: must find and decrypt the private-store envelope
//               (fails with "No keystore providers available" if there is none). Never generates keys.
// MODE=send   : NetworkKeystoreProvider then KeyGeneratorKeystoreProvider (the first run creates
//               the sender's identity, later runs load it); env PEER (address), CONVERSATION_ID
//               and TEXT: opens the v2 conversation with that context id (a new id makes the SDK
//               seal a NEW invitation to the peer's current contact pre-key) and sends TEXT.
//               Reports the pre-key of the peer contact the SDK fetched and the one the sealed
//               invitation it published names as the recipient's.
// MODE=read   : only NetworkKeystoreProvider (never generates): reports the pre-keys the SDK
//               decoded from the private store, every conversation and the texts of its messages.
// EXTRA=1     : afterwards also exercise batch-query (canMessage), query (static canMessage,
//               conversations.list) and an NDJSON subscribe + publish round trip.
//
// Prints exactly ONE JSON line on stdout (ok:true|false); diagnostics go to stderr. Exit 0 only on ok.

import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
// The ESM entry of @xmtp/xmtp-js 13.0.4 cannot be imported on Node 20 (@xmtp/proto's ESM build uses
// extension-less relative imports: ERR_MODULE_NOT_FOUND). The CommonJS entry works.
const xmtp = require('@xmtp/xmtp-js');
const {
  Client,
  HttpApiClient,
  NetworkKeystoreProvider,
  KeyGeneratorKeystoreProvider,
  SealedInvitation,
  SignedPublicKeyBundle,
  buildUserInviteTopic,
} = xmtp;
const { HDNodeWallet, Mnemonic, getAddress } = require('ethers');

// Keep stdout for the one JSON line. Warnings are also kept for the report: the SDK only warns
// (and skips the conversation) when it cannot open an invitation or decode a message.
const warnings = [];
for (const k of ['log', 'info', 'warn', 'debug']) {
  console[k] = (...a) => {
    const line = a.map(String).join(' ');
    if (k === 'warn') warnings.push(line);
    process.stderr.write('[sdk ' + k + '] ' + line + '\n');
  };
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
  else if (MODE === 'load' || MODE === 'read')
    providers = [tracked(new NetworkKeystoreProvider(), 'Network', record)];
  else if (MODE === 'send')
    // The SDK's own default order: load from the network, generate only if there is nothing.
    providers = [
      tracked(new NetworkKeystoreProvider(), 'Network', record),
      tracked(new KeyGeneratorKeystoreProvider(), 'KeyGenerator', record),
    ];
  else fail('MODE must be create, load, send or read');

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
  const publishedEnvelopes = [];
  const apiClientFactory = (options) => {
    const api = new HttpApiClient(options.apiUrl, { appVersion: options.appVersion });
    const publish = api.publish.bind(api);
    api.publish = async (messages) => {
      for (const m of messages) {
        published.push(m.contentTopic);
        publishedEnvelopes.push(m);
      }
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

  if (MODE === 'send' || MODE === 'read') {
    try {
      if (MODE === 'send') Object.assign(out, await send(client, published.length, publishedEnvelopes));
      else Object.assign(out, await read(client));
    } catch (e) {
      fail(`MODE=${MODE} failed after Client.create`, e);
    }
    // For these modes, everything the run published (reading must publish nothing), and the
    // SDK's warnings (it only warns when it skips an invitation or message it cannot open).
    out.published_topics = [...published];
    out.warnings = [...warnings];
  }

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

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) fail(`${name} env var required for MODE=${MODE}`);
  return value;
}

// MODE=send: one text in the v2 conversation with context CONVERSATION_ID.
async function send(client, publishedBefore, publishedEnvelopes) {
  const peer = getAddress(requiredEnv('PEER'));
  const conversationId = requiredEnv('CONVERSATION_ID');
  const text = requiredEnv('TEXT');
  // newConversation looks the peer up through this same per-client cache, so this is the
  // contact (and pre-key) it seals the invitation to.
  const contact = await client.getUserContact(peer);
  if (!contact) fail(`peer ${peer} has no contact bundle`);
  const conversation = await client.conversations.newConversation(peer, { conversationId, metadata: {} });
  await conversation.send(text);
  // The invitation it sealed (none when the conversation already existed): its header names
  // the recipient's bundle, so it shows which pre-key of ours the SDK really used.
  const inviteTopic = buildUserInviteTopic(peer);
  const invites = publishedEnvelopes
    .slice(publishedBefore)
    .filter((m) => m.contentTopic === inviteTopic)
    .map((m) => SealedInvitation.fromBytes(m.message).v1.header);
  return {
    peer_address: peer,
    peer_contact_version: contact instanceof SignedPublicKeyBundle ? 2 : 1,
    peer_identity_key: hex(contact.identityKey.secp256k1Uncompressed.bytes),
    peer_pre_key: hex(contact.preKey.secp256k1Uncompressed.bytes),
    invitation_recipient_pre_keys: invites.map((h) => hex(h.recipient.preKey.secp256k1Uncompressed.bytes)),
    conversation_id: conversation.context?.conversationId ?? null,
    conversation_topic: conversation.topic,
  };
}

// MODE=read: what the SDK decoded from the private store, and everything it can read.
async function read(client) {
  const keys = await client.keystore.getPrivateKeyBundle();
  const conversations = [];
  for (const conversation of await client.conversations.list()) {
    const messages = await conversation.messages();
    conversations.push({
      version: conversation.conversationVersion,
      topic: conversation.topic,
      peer_address: conversation.peerAddress,
      conversation_id: conversation.context?.conversationId ?? null,
      messages: messages.map((m) => (typeof m.content === 'string' ? m.content : null)),
    });
  }
  return {
    pre_key_public_keys: keys.preKeys.map((k) => hex(k.publicKey.secp256k1Uncompressed.bytes)),
    conversations,
  };
}

main().catch((e) => fail('unexpected error', e));
