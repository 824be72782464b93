// A throwaway XMTP v3 server that records what libxmtp sends, for generating known answers
// (gen-v3-vectors.mjs) and for trying the v3 scripts (v3-client.mjs) without our node. It is a
// recorder, not a node: it validates nothing, keeps everything in memory, and serves
//
//   xmtp.identity.api.v1.IdentityApi
//     PublishIdentityUpdate  stores the update, byte for byte as sent, under the next sequence id
//     GetIdentityUpdates     per inbox, the stored updates after the given sequence id (the
//                            bytes as stored, not re-encoded)
//     GetInboxIds            identifier -> inbox id, kept on CreateInbox / AddAssociation /
//                            RevokeAssociation of Ethereum addresses (lowercased)
//   xmtp.mls.api.v1.MlsApi
//     UploadKeyPackage       keeps the key package as opaque bytes
//     FetchKeyPackages       per installation key, the last uploaded key package whose bytes
//                            contain that key (libxmtp's leaf signature key is the installation
//                            key), or an empty one
//
// and UNIMPLEMENTED for everything else (grpc-js' answer to an unknown method); every call,
// implemented or not, is logged in arrival order. The schemas are the project's own copies in
// proto/ (the same field numbers as xmtp/proto).
//
// As a module: `const r = await startRecorder(); r.url; r.events; await r.close()`.
// As a program (run through ./node-v3 or plain node; it loads no native module):
//
//   node v3-recorder.mjs [--port N]   prints {"url":"http://127.0.0.1:PORT"} on stdout, then
//                                     one JSON line per call on stderr; stops on SIGINT/SIGTERM
//                                     or when its stdin closes (when stdin is a pipe)

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { fstatSync } from 'node:fs';
const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PROTO_DIR = path.resolve(HERE, '../../proto');
const PROTO_FILES = ['identity/api/v1/identity.proto', 'mls/api/v1/mls.proto'];

const hex = (b) => Buffer.from(b).toString('hex');

// --- the few protobuf wire bits done by hand, so updates keep libxmtp's own bytes ---------

function readVarint(buf, pos) {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [v, pos];
    shift += 7n;
  }
}

function varint(v) {
  let n = BigInt(v);
  const out = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}

const fieldVarint = (no, v) => Buffer.concat([varint((no << 3) | 0), varint(v)]);
const fieldBytes = (no, b) => Buffer.concat([varint((no << 3) | 2), varint(b.length), Buffer.from(b)]);

// The raw bytes of field 1 (length-delimited) of a message: PublishIdentityUpdateRequest's
// identity_update. The last occurrence wins, as in protobuf's merge of a non-repeated field
// (libxmtp sends one).
function rawField1(buf) {
  let pos = 0;
  let found = null;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const no = Number(key >> 3n);
    const wt = Number(key & 7n);
    if (wt === 0) [, pos] = readVarint(buf, pos);
    else if (wt === 1) pos += 8;
    else if (wt === 5) pos += 4;
    else if (wt === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      const end = pos + Number(len);
      if (no === 1) found = buf.subarray(pos, end);
      pos = end;
    } else throw new Error(`unsupported wire type ${wt}`);
  }
  return found ?? Buffer.alloc(0);
}

// GetIdentityUpdatesResponse { repeated Response responses = 1 } with
// Response { string inbox_id = 1; repeated IdentityUpdateLog updates = 2 } and
// IdentityUpdateLog { uint64 sequence_id = 1; uint64 server_timestamp_ns = 2; IdentityUpdate update = 3 }.
function encodeIdentityUpdates(responses) {
  return Buffer.concat(
    responses.map((r) =>
      fieldBytes(
        1,
        Buffer.concat([
          fieldBytes(1, Buffer.from(r.inbox_id, 'utf8')),
          ...r.updates.map((u) =>
            fieldBytes(
              2,
              Buffer.concat([
                fieldVarint(1, u.sequence_id),
                fieldVarint(2, u.server_timestamp_ns),
                fieldBytes(3, u.raw),
              ]),
            ),
          ),
        ]),
      ),
    ),
  );
}

// --- the server ---------------------------------------------------------------------------

// grpc-js answers unknown methods itself; this subclass only notes them in the log first.
class LoggingServer extends grpc.Server {
  constructor(onPath) {
    super();
    this._onPath = onPath;
  }
  _retrieveHandler(p) {
    const handler = super._retrieveHandler(p);
    if (!handler) this._onPath(p);
    return handler;
  }
}

const ETH = 1; // xmtp.identity.associations.IdentifierKind.IDENTIFIER_KIND_ETHEREUM
const PASSKEY = 2;
const identifierKey = (identifier, kind) =>
  kind === PASSKEY ? `passkey:${identifier}` : `eth:${String(identifier).toLowerCase()}`;

/**
 * Starts the recorder on 127.0.0.1. `onEvent(event)` is called for every logged call.
 * Returns { url, port, events, state, close }.
 */
export async function startRecorder({ port = 0, protoDir = PROTO_DIR, onEvent = () => {} } = {}) {
  const def = protoLoader.loadSync(PROTO_FILES, {
    includeDirs: [protoDir],
    keepCase: true,
    longs: String,
    enums: Number,
    bytes: Buffer,
    defaults: false,
    oneofs: true,
  });
  const identityDef = { ...def['xmtp.identity.api.v1.IdentityApi'] };
  const mlsDef = def['xmtp.mls.api.v1.MlsApi'];
  if (!identityDef.PublishIdentityUpdate || !mlsDef?.UploadKeyPackage) {
    throw new Error(`the IdentityApi/MlsApi services are missing from ${protoDir}`);
  }
  // Keep the update's bytes as sent next to the decoded form; answer updates with the stored bytes.
  const publish = identityDef.PublishIdentityUpdate;
  identityDef.PublishIdentityUpdate = {
    ...publish,
    requestDeserialize: (buf) => ({ raw: Buffer.from(rawField1(buf)), decoded: publish.requestDeserialize(buf) }),
  };
  identityDef.GetIdentityUpdates = {
    ...identityDef.GetIdentityUpdates,
    responseSerialize: encodeIdentityUpdates,
  };

  const events = [];
  const log = (event) => {
    const e = { n: events.length + 1, ...event };
    events.push(e);
    onEvent(e);
  };
  const state = {
    nextSequenceId: 1n,
    updates: new Map(), // inbox_id -> [{ sequence_id, server_timestamp_ns, raw, decoded }]
    inboxOf: new Map(), // identifierKey -> inbox_id
    keyPackages: [], // Buffer, in upload order
  };
  const nowNs = () => BigInt(Date.now()) * 1_000_000n;

  const identityImpl = {
    PublishIdentityUpdate(call, cb) {
      const { raw, decoded } = call.request;
      const update = decoded.identity_update ?? {};
      const inboxId = update.inbox_id ?? '';
      const entry = { sequence_id: state.nextSequenceId++, server_timestamp_ns: nowNs(), raw, decoded: update };
      if (!state.updates.has(inboxId)) state.updates.set(inboxId, []);
      state.updates.get(inboxId).push(entry);
      const actions = [];
      for (const a of update.actions ?? []) {
        if (a.create_inbox) {
          const c = a.create_inbox;
          state.inboxOf.set(identifierKey(c.initial_identifier, c.initial_identifier_kind), inboxId);
          actions.push('create_inbox');
        } else if (a.add) {
          const id = a.add.new_member_identifier ?? {};
          if (id.ethereum_address) state.inboxOf.set(identifierKey(id.ethereum_address, ETH), inboxId);
          actions.push(id.ethereum_address ? 'add_address' : 'add_installation');
        } else if (a.revoke) {
          const id = a.revoke.member_to_revoke ?? {};
          if (id.ethereum_address) state.inboxOf.delete(identifierKey(id.ethereum_address, ETH));
          actions.push(id.ethereum_address ? 'revoke_address' : 'revoke_installation');
        } else if (a.change_recovery_address) {
          actions.push('change_recovery_address');
        } else actions.push('unknown');
      }
      log({
        rpc: 'IdentityApi/PublishIdentityUpdate',
        inbox_id: inboxId,
        sequence_id: String(entry.sequence_id),
        actions,
        identity_update: hex(raw),
      });
      cb(null, {});
    },
    GetIdentityUpdates(call, cb) {
      const requests = call.request.requests ?? [];
      const responses = requests.map((r) => {
        const after = BigInt(r.sequence_id ?? 0);
        return {
          inbox_id: r.inbox_id,
          updates: (state.updates.get(r.inbox_id) ?? []).filter((u) => u.sequence_id > after),
        };
      });
      log({
        rpc: 'IdentityApi/GetIdentityUpdates',
        requests: requests.map((r) => ({ inbox_id: r.inbox_id, sequence_id: String(r.sequence_id ?? 0) })),
        returned: responses.map((r) => r.updates.length),
      });
      cb(null, responses);
    },
    GetInboxIds(call, cb) {
      const requests = call.request.requests ?? [];
      const responses = requests.map((r) => {
        const inboxId = state.inboxOf.get(identifierKey(r.identifier, r.identifier_kind));
        const out = { identifier: r.identifier, identifier_kind: r.identifier_kind ?? 0 };
        if (inboxId !== undefined) out.inbox_id = inboxId;
        return out;
      });
      log({
        rpc: 'IdentityApi/GetInboxIds',
        requests: requests.map((r) => ({ identifier: r.identifier, identifier_kind: r.identifier_kind ?? 0 })),
        found: responses.map((r) => r.inbox_id ?? null),
      });
      cb(null, { responses });
    },
  };
  const mlsImpl = {
    UploadKeyPackage(call, cb) {
      const kp = call.request.key_package?.key_package_tls_serialized ?? Buffer.alloc(0);
      state.keyPackages.push(Buffer.from(kp));
      log({
        rpc: 'MlsApi/UploadKeyPackage',
        key_package_len: kp.length,
        is_inbox_id_credential: Boolean(call.request.is_inbox_id_credential),
      });
      cb(null, {});
    },
    FetchKeyPackages(call, cb) {
      const keys = call.request.installation_keys ?? [];
      const key_packages = keys.map((k) => {
        const kp = [...state.keyPackages].reverse().find((p) => k.length > 0 && p.includes(k));
        return { key_package_tls_serialized: kp ?? Buffer.alloc(0) };
      });
      log({
        rpc: 'MlsApi/FetchKeyPackages',
        installation_keys: keys.map(hex),
        found: key_packages.map((p) => p.key_package_tls_serialized.length > 0),
      });
      cb(null, { key_packages });
    },
  };

  const server = new LoggingServer((p) => log({ rpc: p.replace(/^\/xmtp\.[a-z.]+\.v1\./, ''), unimplemented: true }));
  server.addService(identityDef, identityImpl);
  server.addService(mlsDef, mlsImpl);
  const boundPort = await new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    url: `http://127.0.0.1:${boundPort}`,
    port: boundPort,
    events,
    state,
    // Graceful, but a client's idle connection does not hold it up for more than a second.
    close: () =>
      new Promise((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), 1000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

// --- as a program -------------------------------------------------------------------------

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let port = 0;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port') port = Number(args[++i]);
    else {
      process.stderr.write(`v3-recorder: unknown argument ${args[i]}\nusage: node v3-recorder.mjs [--port N]\n`);
      process.exit(2);
    }
  }
  const rec = await startRecorder({
    port,
    onEvent: (e) => process.stderr.write(JSON.stringify(e) + '\n'),
  });
  process.stdout.write(JSON.stringify({ url: rec.url }) + '\n');
  const stop = async () => {
    await rec.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (fstatSync(0).isFIFO()) {
    process.stdin.on('end', stop);
    process.stdin.resume();
  }
}
