//! The seam between the key flows and a wallet: an account address and EIP-191
//! `personal_sign`. The Ledger client implements it; so does [`LocalKeySigner`] for tests.

use k256::ecdsa::SigningKey;

use crate::identity::signature_from_digest;
use crate::identity::{Address, IdentityError, WalletSignature, eip191};

/// A wallet that can sign EIP-191 personal messages with one account.
pub trait Signer {
    /// What can go wrong talking to the wallet.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The account that signs, known up front (a device signer reads it when it is
    /// opened), so a flow never learns it in the middle of a signature.
    fn address(&self) -> Address;

    /// EIP-191 personal_sign of `text`, returned as the wallet gives it (`r || s || v`).
    ///
    /// Callers must not trust the answer: take signatures through [`sign_verified`],
    /// which checks that it recovers to [`Signer::address`] over exactly `text`.
    fn personal_sign(&self, text: &str) -> Result<WalletSignature, Self::Error>;
}

/// Why [`sign_verified`] returned no signature.
#[derive(Debug, thiserror::Error)]
pub enum SignError<E: std::error::Error + 'static> {
    /// The wallet failed or refused.
    #[error(transparent)]
    Signer(E),
    /// The wallet answered with something that is not its account's signature of the
    /// text sent (a stale answer, another account, corrupted bytes). It was discarded.
    #[error("the wallet's signature does not verify: {0}")]
    DoesNotVerify(IdentityError),
}

/// Asks `signer` to sign `text` and returns the signature only if it recovers to the
/// signer's address over exactly `text`. Every wallet signature the library uses is
/// taken through this function, and only here is it checked.
pub fn sign_verified<S: Signer + ?Sized>(
    signer: &S,
    text: &str,
) -> Result<WalletSignature, SignError<S::Error>> {
    let signature = signer.personal_sign(text).map_err(SignError::Signer)?;
    signature
        .verify_personal_sign(text.as_bytes(), &signer.address())
        .map_err(SignError::DoesNotVerify)?;
    Ok(signature)
}

impl<S: Signer + ?Sized> Signer for &S {
    type Error = S::Error;

    fn address(&self) -> Address {
        (**self).address()
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, Self::Error> {
        (**self).personal_sign(text)
    }
}

impl<S: Signer + ?Sized> Signer for Box<S> {
    type Error = S::Error;

    fn address(&self) -> Address {
        (**self).address()
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, Self::Error> {
        (**self).personal_sign(text)
    }
}

/// Which `v` form a signer returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum VForm {
    /// 27/28, as software wallets and the current Ledger Ethereum app return.
    #[default]
    TwentySeven,
    /// 0/1, as some older Ledger host flows returned.
    Zero,
}

/// A signer over a private key held in memory: for tests and vector generation only.
/// Keys in memory are not protected by hardware.
pub struct LocalKeySigner {
    key: SigningKey,
    address: Address,
    v_form: VForm,
}

impl LocalKeySigner {
    /// From a 32-byte private key.
    pub fn from_private_key(secret: &[u8]) -> Result<Self, IdentityError> {
        let key = SigningKey::from_slice(secret)
            .map_err(|_| IdentityError::Malformed("wallet key is not a valid scalar".into()))?;
        let point = key.verifying_key().to_encoded_point(false);
        let address = Address::from_uncompressed_public_key(point.as_bytes())?;
        Ok(Self {
            key,
            address,
            v_form: VForm::default(),
        })
    }

    /// Returns signatures with `v` in the given form.
    pub fn with_v_form(mut self, v_form: VForm) -> Self {
        self.v_form = v_form;
        self
    }
}

impl Signer for LocalKeySigner {
    type Error = IdentityError;

    fn address(&self) -> Address {
        self.address
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, IdentityError> {
        let digest = eip191::personal_message_digest(text.as_bytes());
        let signature = WalletSignature::from_compact(&signature_from_digest(&self.key, &digest)?);
        Ok(match self.v_form {
            VForm::TwentySeven => signature,
            VForm::Zero => signature.with_other_v_form(),
        })
    }
}
