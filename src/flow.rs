//! The key flows, written once against [`Signer`]: XMTP v2 key generation ("init") and
//! key retrieval ("unlock"), and the v3 wallet signature of an identity update
//! ([`sign_inbox_update`]). They produce and consume the bytes that are published;
//! talking to a node is the caller's job.

use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::{OsRng, RngCore};
use zeroize::Zeroize;

use crate::identity::{
    Address, IdentityError, KeySignature, PrivateKeyBundleV1, PrivateKeyV1, WalletSignature,
    eip191, topic,
};
use crate::keystore::{EncryptedBundle, KeystoreError};
use crate::signer::{SignError, Signer, sign_verified};
use crate::wire::Publication;

/// Why the wallet is asked to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignaturePurpose {
    /// "XMTP : Create Identity": vouches for the identity key.
    CreateIdentity,
    /// "XMTP : Enable Identity": the secret that encrypts the private key bundle.
    EnableIdentity,
    /// "XMTP : Authenticate to inbox": an XMTP v3 identity update (create an inbox,
    /// grant or revoke an app, link or unlink an address, change the recovery address).
    AuthenticateToInbox,
}

impl SignaturePurpose {
    /// The first line of the text, which the device shows first.
    pub fn header(self) -> &'static str {
        match self {
            Self::CreateIdentity => eip191::CREATE_IDENTITY_HEADER,
            Self::EnableIdentity => eip191::ENABLE_IDENTITY_HEADER,
            Self::AuthenticateToInbox => crate::v3::HEADER,
        }
    }

    /// The purpose whose header is `text`'s first line exactly; `None` for any other text.
    pub fn of_text(text: &str) -> Option<Self> {
        let first = text.split('\n').next()?;
        [
            Self::CreateIdentity,
            Self::EnableIdentity,
            Self::AuthenticateToInbox,
        ]
        .into_iter()
        .find(|purpose| purpose.header() == first)
    }

    /// A stable name for machines: `create_identity`, `enable_identity`,
    /// `authenticate_to_inbox` (audit-log records, policy files).
    pub fn name(self) -> &'static str {
        match self {
            Self::CreateIdentity => "create_identity",
            Self::EnableIdentity => "enable_identity",
            Self::AuthenticateToInbox => "authenticate_to_inbox",
        }
    }
}

/// Announced before each wallet signature, so a caller can tell the user what to approve.
#[derive(Clone, Copy, Debug)]
pub struct SignaturePrompt<'a> {
    /// What the signature is for.
    pub purpose: SignaturePurpose,
    /// 1-based position among the flow's signatures.
    pub step: usize,
    /// How many signatures the flow asks for.
    pub total: usize,
    /// The exact text to be signed.
    pub text: &'a str,
}

/// Errors of the flows, generic over the signer's own error.
#[derive(Debug, thiserror::Error)]
pub enum FlowError<E: std::error::Error + 'static> {
    /// The wallet failed or refused.
    #[error(transparent)]
    Signer(E),
    /// The wallet returned a signature that is not its signature of the text we sent
    /// (stale answer, other account, corrupted): nothing was used.
    #[error("wallet's {purpose:?} signature does not verify: {source}")]
    BadWalletSignature {
        /// Which signature.
        purpose: SignaturePurpose,
        /// What the check found.
        source: IdentityError,
    },
    /// Building or checking keys failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Encrypting or decrypting the private bundle failed.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The decrypted bundle belongs to another wallet than the signer.
    #[error("the stored identity belongs to {found}, not to {expected}")]
    WrongWallet {
        /// The signer's account.
        expected: Address,
        /// The wallet named by the bundle's identity key.
        found: Address,
    },
}

/// An identity's private keys sealed under a fresh Enable Identity signature, and
/// everything to publish for it: a newly generated identity, or one whose pre-key was
/// rotated.
#[derive(Debug)]
pub struct SealedIdentity {
    /// The wallet that signed it.
    pub wallet: Address,
    /// The private keys: the identity key and every pre-key, newest first.
    pub bundle: PrivateKeyBundleV1,
    /// The bundle sealed under the Enable Identity signature.
    pub encrypted_bundle: EncryptedBundle,
    /// What to publish, built by [`identity_publications`].
    publications: [Publication; 3],
}

impl SealedIdentity {
    /// What to publish, in the order xmtp-js publishes it (see [`identity_publications`]).
    pub fn publications(&self) -> [Publication; 3] {
        self.publications.clone()
    }

    /// `ContactBundle{v1}` bytes.
    pub fn contact_v1(&self) -> &[u8] {
        &self.publications[1].message
    }

    /// `ContactBundle{v2}` bytes.
    pub fn contact_v2(&self) -> &[u8] {
        &self.publications[2].message
    }
}

/// The three publications of an identity, in the order xmtp-js publishes them: the
/// private store (`private_store`, the encoded `EncryptedPrivateKeyBundle`) first, then
/// the v1 and v2 contact bundles of `bundle`'s public keys, so the newest envelope on
/// the contact topic is v2. Every path that publishes an identity builds it here.
pub fn identity_publications(
    wallet: &Address,
    bundle: &PrivateKeyBundleV1,
    private_store: Vec<u8>,
) -> Result<[Publication; 3], IdentityError> {
    let public = bundle.public_bundle();
    let contact_topic = topic::contact_topic(wallet);
    Ok([
        Publication {
            topic: topic::private_store_topic(wallet),
            message: private_store,
        },
        Publication {
            topic: contact_topic.clone(),
            message: public.encode_contact_v1(),
        },
        Publication {
            topic: contact_topic,
            message: public.to_signed_bundle()?.encode_contact_v2(),
        },
    ])
}

/// An identity recovered from the private store.
#[derive(Debug)]
pub struct UnlockedIdentity {
    /// The wallet, checked against both the signer and the bundle.
    pub wallet: Address,
    /// The private keys.
    pub bundle: PrivateKeyBundleV1,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Announces the request, then takes the signature through [`sign_verified`]: it is
/// accepted only if it recovers to the signer's address over exactly the text.
fn wallet_sign<S: Signer>(
    signer: &S,
    prompt: &mut dyn FnMut(SignaturePrompt<'_>),
    request: SignaturePrompt<'_>,
) -> Result<WalletSignature, FlowError<S::Error>> {
    prompt(request);
    sign_verified(signer, request.text).map_err(|e| match e {
        SignError::Signer(e) => FlowError::Signer(e),
        SignError::DoesNotVerify(source) => FlowError::BadWalletSignature {
            purpose: request.purpose,
            source,
        },
    })
}

/// Key generation: a new identity key vouched for by the wallet, a pre-key signed by
/// the identity key, and the private bundle sealed under the wallet's Enable Identity
/// signature. Asks the wallet for two signatures and verifies each before use.
pub fn generate_identity<S: Signer>(
    signer: &S,
    prompt: &mut dyn FnMut(SignaturePrompt<'_>),
) -> Result<SealedIdentity, FlowError<S::Error>> {
    let wallet = signer.address();

    let mut identity_key = PrivateKeyV1::generate(now_ms());
    let create_text = identity_key.public_key().create_identity_text();
    let create_signature = wallet_sign(
        signer,
        prompt,
        SignaturePrompt {
            purpose: SignaturePurpose::CreateIdentity,
            step: 1,
            total: 2,
            text: &create_text,
        },
    )?;
    // xmtp-js stores the wallet's signature of a legacy identity key as ecdsa_compact.
    identity_key.set_signature(KeySignature::Ecdsa(create_signature.compact()?));

    let mut pre_key = PrivateKeyV1::generate(now_ms());
    identity_key.sign_key(&mut pre_key)?;
    let bundle = PrivateKeyBundleV1::new(identity_key, vec![pre_key])?;
    // The identity key's wallet signature was recovered to `wallet` over exactly its
    // Create Identity text by `wallet_sign`; recovering it again would only cost time.
    bundle.verify_pre_keys()?;

    let encrypted_bundle = seal_with_new_signature(signer, &bundle, prompt, (2, 2))?;

    let publications = identity_publications(&wallet, &bundle, encrypted_bundle.encode())?;
    Ok(SealedIdentity {
        wallet,
        bundle,
        encrypted_bundle,
        publications,
    })
}

/// Pre-key rotation: a new pre-key signed by `bundle`'s identity key becomes the current
/// one, every older private pre-key is kept behind it, and the whole bundle is sealed
/// under a fresh Enable Identity signature (`position` is its (step, total) for the
/// prompt). The identity key and the wallet's signature of it are unchanged, so no
/// Create Identity approval is asked for.
///
/// The new store is sealed under a new random wallet pre-key rather than the signature
/// that opened the old one: that signature is deterministic and has been in host memory
/// at every unlock, and a store sealed under it again would hand the new pre-key to
/// anyone who ever kept it.
pub fn rotate_pre_key<S: Signer>(
    signer: &S,
    bundle: &PrivateKeyBundleV1,
    prompt: &mut dyn FnMut(SignaturePrompt<'_>),
    position: (usize, usize),
) -> Result<SealedIdentity, FlowError<S::Error>> {
    let wallet = signer.address();
    let mut rotated = bundle.clone();
    // Strictly newer than the current pre-key even if the clock went back, so "newest"
    // means the same by position and by timestamp.
    let timestamp_ms = now_ms().max(bundle.current_pre_key().timestamp_ms().saturating_add(1));
    rotated.add_pre_key(PrivateKeyV1::generate(timestamp_ms))?;
    let found = rotated.verify()?;
    if found != wallet {
        return Err(FlowError::WrongWallet {
            expected: wallet,
            found,
        });
    }
    let encrypted_bundle = seal_with_new_signature(signer, &rotated, prompt, position)?;
    let publications = identity_publications(&wallet, &rotated, encrypted_bundle.encode())?;
    Ok(SealedIdentity {
        wallet,
        bundle: rotated,
        encrypted_bundle,
        publications,
    })
}

/// Seals `bundle` under the wallet's signature of the Enable Identity text for a fresh
/// random wallet pre-key (verified before use). Used by key generation and to write an
/// encrypted local keystore. `position` is (step, total) for the prompt.
pub fn seal_with_new_signature<S: Signer>(
    signer: &S,
    bundle: &PrivateKeyBundleV1,
    prompt: &mut dyn FnMut(SignaturePrompt<'_>),
    position: (usize, usize),
) -> Result<EncryptedBundle, FlowError<S::Error>> {
    let mut wallet_pre_key = [0u8; 32];
    OsRng.fill_bytes(&mut wallet_pre_key);
    let enable_text = eip191::enable_identity_text(&wallet_pre_key);
    let enable_signature = wallet_sign(
        signer,
        prompt,
        SignaturePrompt {
            purpose: SignaturePurpose::EnableIdentity,
            step: position.0,
            total: position.1,
            text: &enable_text,
        },
    )?;
    let sealed = EncryptedBundle::seal(bundle, wallet_pre_key, &enable_signature)?;
    wallet_pre_key.zeroize();
    Ok(sealed)
}

/// XMTP v3: the wallet's personal_sign of an identity update's text, announced as
/// signature `position` (step, total) and accepted only if it recovers to the signer
/// over exactly that text. What the text says is the caller's to check first.
pub fn sign_inbox_update<S: Signer>(
    signer: &S,
    text: &str,
    prompt: &mut dyn FnMut(SignaturePrompt<'_>),
    position: (usize, usize),
) -> Result<WalletSignature, FlowError<S::Error>> {
    wallet_sign(
        signer,
        prompt,
        SignaturePrompt {
            purpose: SignaturePurpose::AuthenticateToInbox,
            step: position.0,
            total: position.1,
            text,
        },
    )
}

/// Key retrieval: asks the wallet for the Enable Identity signature of the stored
/// bundle's wallet pre-key, verifies it, decrypts (trying both `v` forms), and checks the
/// bundle's identity key was signed by this same wallet.
pub fn unlock_identity<S: Signer>(
    signer: &S,
    encrypted_bundle: &[u8],
    prompt: &mut dyn FnMut(SignaturePrompt<'_>),
) -> Result<UnlockedIdentity, FlowError<S::Error>> {
    let wallet = signer.address();
    let encrypted = EncryptedBundle::decode(encrypted_bundle)?;
    let text = encrypted.enable_identity_text();
    let signature = wallet_sign(
        signer,
        prompt,
        SignaturePrompt {
            purpose: SignaturePurpose::EnableIdentity,
            step: 1,
            total: 1,
            text: &text,
        },
    )?;
    let bundle = encrypted.open(&signature)?;
    let found = bundle.verify()?;
    if found != wallet {
        return Err(FlowError::WrongWallet {
            expected: wallet,
            found,
        });
    }
    Ok(UnlockedIdentity { wallet, bundle })
}
