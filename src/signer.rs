//! The seam between the key flows and a wallet: an account address and EIP-191
//! `personal_sign`. The Ledger client implements it; so does [`LocalKeySigner`] for tests.

use k256::ecdsa::SigningKey;

use crate::identity::signature_from_digest;
use crate::identity::{Address, IdentityError, WalletSignature, eip191};

/// A wallet that can sign EIP-191 personal messages with one account.
pub trait Signer {
    /// What can go wrong talking to the wallet.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The account that signs.
    fn address(&self) -> Result<Address, Self::Error>;

    /// EIP-191 personal_sign of `text`, returned as the wallet gives it (`r || s || v`).
    ///
    /// Callers must not trust the answer: verify it recovers to [`Signer::address`]
    /// over exactly `text` (the flows in [`crate::flow`] do).
    fn personal_sign(&self, text: &str) -> Result<WalletSignature, Self::Error>;
}

impl<S: Signer + ?Sized> Signer for &S {
    type Error = S::Error;

    fn address(&self) -> Result<Address, Self::Error> {
        (**self).address()
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, Self::Error> {
        (**self).personal_sign(text)
    }
}

impl<S: Signer + ?Sized> Signer for Box<S> {
    type Error = S::Error;

    fn address(&self) -> Result<Address, Self::Error> {
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

    fn address(&self) -> Result<Address, IdentityError> {
        Ok(self.address)
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
