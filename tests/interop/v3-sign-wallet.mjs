// A software wallet for v3-client.mjs's --sign-command: reads the text to sign on stdin, prints
// the EIP-191 personal_sign signature (0x + 65 bytes hex, v 27/28) on stdout. The key is an
// account of the PUBLIC test mnemonic (`test … junk`; test keys only), chosen by the HD_PATH
// environment variable (default m/44'/60'/0'/0/0); SIGN_LOG, when set, names a file to which
// each signed text is appended as one JSON line {"address","text","signature"}.
//
//   ./v3-client.mjs create ... --sign-command 'HD_PATH="m/44'"'"'/60'"'"'/0'"'"'/0/1" node v3-sign-wallet.mjs'
//
// Needs no native module: plain node runs it.

import { createRequire } from 'node:module';
import { appendFileSync, readFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
const { HDNodeWallet, Mnemonic } = require('ethers');

const MNEMONIC = 'test test test test test test test test test test test junk';
const wallet = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(MNEMONIC), process.env.HD_PATH || "m/44'/60'/0'/0/0");
const text = readFileSync(0, 'utf8');
const signature = await wallet.signMessage(text);
if (process.env.SIGN_LOG) {
  appendFileSync(process.env.SIGN_LOG, JSON.stringify({ address: wallet.address, text, signature }) + '\n');
}
process.stdout.write(signature + '\n');
