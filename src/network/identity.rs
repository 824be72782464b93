//! The IdentityApi client (XMTP v3, `xmtp.identity.api.v1.IdentityApi` over gRPC): which
//! inbox an address belongs to, an inbox's whole log, and publishing one update to it.
//!
//! It runs on the same [`Link`] as the MessageApi [`Client`]: one channel per node, the
//! same TLS and loopback policy, deadlines and transient-only retries. What it adds is the
//! shape of the IdentityApi's answers, checked as untrusted input (a node answers for the
//! inboxes and addresses it was asked about, sequence ids increase, a log is at most
//! [`MAX_INBOX_UPDATES`] long), and a publish that is never blindly repeated.

use prost::Message;
use tonic::transport::Channel;

use super::NetworkError;
use super::client::{Client, ClientConfig, Link, invalid};
use super::retry::{Budget, is_transient};
use crate::identity::Address;
use crate::proto::identity::api::v1::{
    GetIdentityUpdatesRequest, GetInboxIdsRequest, PublishIdentityUpdateRequest,
    get_identity_updates_request, get_inbox_ids_request, identity_api_client::IdentityApiClient,
};
use crate::proto::identity::associations::{IdentifierKind, IdentityUpdate};
use crate::wire::{MAX_IDENTITY_UPDATE_BYTES, MAX_INBOX_ID_REQUESTS, MAX_INBOX_UPDATES};

const GET_INBOX_IDS: &str = "inbox id lookup";
const GET_IDENTITY_UPDATES: &str = "identity update query";
const PUBLISH_IDENTITY_UPDATE: &str = "identity update publish";

/// One update of an inbox's log, as the node stored it.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedUpdate {
    /// Its place in the node's log (increasing, not necessarily consecutive: the reference
    /// node numbers every inbox's updates from one sequence).
    pub sequence_id: u64,
    /// When the node stored it, by the node's clock.
    pub server_timestamp_ns: u64,
    /// The update, as published (its signatures are the verifier's business, not this
    /// client's).
    pub update: IdentityUpdate,
}

/// How [`IdentityClient::publish_identity_update`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdatePublished {
    /// The node acknowledged the update.
    Accepted,
    /// An attempt failed without saying whether the node had stored the update (a
    /// timeout, a dropped connection), and the update was then found in the inbox's log.
    FoundInLog,
}

/// A client of one node's IdentityApi (XMTP v3).
///
/// Cheap to clone: clones share the connection. [`Client::identity`] gives one on the
/// MessageApi client's connection.
#[derive(Clone, Debug)]
pub struct IdentityClient {
    api: IdentityApiClient<Channel>,
    link: Link,
}

impl Client {
    /// The IdentityApi client of the same node, on the same connection and configuration.
    pub fn identity(&self) -> IdentityClient {
        IdentityClient::on(self.link.clone())
    }
}

impl IdentityClient {
    /// Connects to the node at `url` under the same rules as [`Client::connect`].
    pub async fn connect(url: &str, config: ClientConfig) -> Result<Self, NetworkError> {
        Ok(Self::on(Link::connect(url, config).await?))
    }

    fn on(link: Link) -> Self {
        Self {
            // The same bound on what one answer may make us allocate as the MessageApi's.
            api: IdentityApiClient::new(link.channel.clone())
                .max_decoding_message_size(link.config.max_response_bytes),
            link,
        }
    }

    /// The node, as `scheme://host:port`.
    pub fn url(&self) -> &str {
        &self.link.url
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.link.config
    }

    /// The inbox each of `addresses` belongs to (`None`: none), in the order given.
    ///
    /// Asked as libxmtp asks: identifier kind `ETHEREUM`, the address as `0x` and 40
    /// lowercase hex digits (libxmtp's `sanitize_evm_addresses`), since the node matches
    /// identifiers as exact strings. Split into calls of at most [`MAX_INBOX_ID_REQUESTS`]
    /// addresses; each call is retried on transient failures (a lookup changes nothing).
    pub async fn get_inbox_ids(
        &self,
        addresses: &[Address],
    ) -> Result<Vec<(Address, Option<String>)>, NetworkError> {
        let budget = self.link.budget();
        let mut found = Vec::with_capacity(addresses.len());
        for chunk in addresses.chunks(MAX_INBOX_ID_REQUESTS) {
            found.extend(self.get_inbox_ids_once(&budget, chunk).await?);
        }
        Ok(found)
    }

    async fn get_inbox_ids_once(
        &self,
        budget: &Budget,
        addresses: &[Address],
    ) -> Result<Vec<(Address, Option<String>)>, NetworkError> {
        let identifiers: Vec<String> = addresses.iter().map(lowercase_address).collect();
        let request = GetInboxIdsRequest {
            requests: identifiers
                .iter()
                .map(|identifier| get_inbox_ids_request::Request {
                    identifier: identifier.clone(),
                    identifier_kind: IdentifierKind::Ethereum.into(),
                })
                .collect(),
        };
        let response = self
            .link
            .unary_within(
                budget,
                &self.api,
                GET_INBOX_IDS,
                request,
                None,
                |mut api, req| async move { api.get_inbox_ids(req).await },
            )
            .await?;
        let protocol = |reason: String| self.link.protocol(GET_INBOX_IDS, &reason);
        // The reference node answers every identifier asked, in order; match by the
        // identifier all the same, and refuse answers about identifiers not asked.
        let mut inbox_ids: Vec<Option<Option<String>>> = vec![None; identifiers.len()];
        for answer in response.responses {
            let kind = answer.identifier_kind;
            // libxmtp reads an unspecified kind as Ethereum.
            if kind != i32::from(IdentifierKind::Ethereum)
                && kind != i32::from(IdentifierKind::Unspecified)
            {
                return Err(protocol(format!(
                    "an answer for identifier kind {kind}, not Ethereum"
                )));
            }
            let identifier = answer.identifier.to_ascii_lowercase();
            let Some(index) = identifiers.iter().position(|asked| *asked == identifier) else {
                return Err(protocol(format!(
                    "an answer for {:?}, which was not asked about",
                    truncated(&answer.identifier)
                )));
            };
            if let Some(inbox_id) = &answer.inbox_id
                && !is_inbox_id(inbox_id)
            {
                return Err(protocol(format!(
                    "{:?} is not an inbox id (64 lowercase hex digits)",
                    truncated(inbox_id)
                )));
            }
            let slot = &mut inbox_ids[index];
            if slot
                .as_ref()
                .is_some_and(|earlier| *earlier != answer.inbox_id)
            {
                return Err(protocol(format!("two different answers for {identifier}")));
            }
            *slot = Some(answer.inbox_id);
        }
        addresses
            .iter()
            .zip(inbox_ids)
            .map(|(address, inbox_id)| match inbox_id {
                Some(inbox_id) => Ok((*address, inbox_id)),
                None => Err(protocol(format!(
                    "no answer for {}",
                    lowercase_address(address)
                ))),
            })
            .collect()
    }

    /// Every update of inbox `inbox_id` after sequence id `after_sequence_id` (0: the
    /// whole log), oldest first.
    ///
    /// The reference node answers with the whole rest of the log at once, but nothing in
    /// the protocol says a node must, so this asks again after the last sequence id until
    /// a node answers with nothing new. What a node answers is checked: an answer about
    /// this inbox only, a stored update in every entry, sequence ids strictly increasing
    /// and above `after_sequence_id` ([`NetworkError::Protocol`] otherwise, so a node that
    /// repeats itself cannot keep us asking), and no more than [`MAX_INBOX_UPDATES`]
    /// updates in all ([`NetworkError::InboxLogTooLong`]). The whole walk shares one
    /// `total_timeout`.
    pub async fn get_identity_updates(
        &self,
        inbox_id: &str,
        after_sequence_id: u64,
    ) -> Result<Vec<LoggedUpdate>, NetworkError> {
        self.get_identity_updates_within(&self.link.budget(), inbox_id, after_sequence_id)
            .await
    }

    async fn get_identity_updates_within(
        &self,
        budget: &Budget,
        inbox_id: &str,
        after_sequence_id: u64,
    ) -> Result<Vec<LoggedUpdate>, NetworkError> {
        check_inbox_id(inbox_id)?;
        let protocol = |reason: String| self.link.protocol(GET_IDENTITY_UPDATES, &reason);
        let mut log: Vec<LoggedUpdate> = Vec::new();
        let mut after = after_sequence_id;
        // Each round either ends the walk or adds at least one update, and more than
        // MAX_INBOX_UPDATES is an error: at most MAX_INBOX_UPDATES + 1 rounds.
        loop {
            let request = GetIdentityUpdatesRequest {
                requests: vec![get_identity_updates_request::Request {
                    inbox_id: inbox_id.to_owned(),
                    sequence_id: after,
                }],
            };
            let response = self
                .link
                .unary_within(
                    budget,
                    &self.api,
                    GET_IDENTITY_UPDATES,
                    request,
                    None,
                    |mut api, req| async move { api.get_identity_updates(req).await },
                )
                .await?;
            let mut answers = response.responses.into_iter();
            let answer = match (answers.next(), answers.next()) {
                (Some(answer), None) => answer,
                (None, _) => return Err(protocol("no answer for the inbox asked about".into())),
                (Some(_), Some(_)) => {
                    return Err(protocol(
                        "several answers to a question about one inbox".into(),
                    ));
                }
            };
            if answer.inbox_id != inbox_id {
                return Err(protocol(format!(
                    "an answer about inbox {:?}, not {inbox_id}",
                    truncated(&answer.inbox_id)
                )));
            }
            if answer.updates.is_empty() {
                return Ok(log);
            }
            for entry in answer.updates {
                if entry.sequence_id <= after {
                    return Err(protocol(format!(
                        "sequence id {} after {after}: sequence ids must increase",
                        entry.sequence_id
                    )));
                }
                after = entry.sequence_id;
                let Some(update) = entry.update else {
                    return Err(protocol(format!(
                        "log entry {} carries no update",
                        entry.sequence_id
                    )));
                };
                if log.len() == MAX_INBOX_UPDATES {
                    return Err(NetworkError::InboxLogTooLong {
                        url: self.url().to_owned(),
                        inbox_id: inbox_id.to_owned(),
                        limit: MAX_INBOX_UPDATES,
                    });
                }
                log.push(LoggedUpdate {
                    sequence_id: entry.sequence_id,
                    server_timestamp_ns: entry.server_timestamp_ns,
                    update,
                });
            }
        }
    }

    /// Publishes `update` to the log of its inbox (`update.inbox_id`).
    ///
    /// Nothing is sent if the update is larger than [`MAX_IDENTITY_UPDATE_BYTES`] or
    /// names no valid inbox id. A publish is not blindly repeated: a node that stored the
    /// update but whose answer was lost would refuse the same update again (its
    /// signatures are already in the log, and a signature may never be replayed), so a
    /// repeat would turn a success into a failure. Instead:
    ///
    /// - a refusal (`INVALID_ARGUMENT` and every other non-transient code) on the first
    ///   attempt is returned as it is: the node did not store the update;
    /// - after a transient failure (timeout, dropped connection, `UNAVAILABLE`, …), whose
    ///   outcome is unknown, the inbox's log is read: if the update is there the result is
    ///   [`UpdatePublished::FoundInLog`], otherwise it is sent again (within the retry
    ///   policy and the `total_timeout`);
    /// - when the attempts end in failure after such an unknown outcome (including a
    ///   refusal of the repeat), the log is read once more for the same reason;
    /// - when the log cannot be read to tell, the result is [`NetworkError::Unconfirmed`]:
    ///   the update may or may not be stored, and the caller should read the log before
    ///   signing anything anew.
    ///
    /// A node that stores the update after the read-back said it had not (the first
    /// attempt still in flight there) is not detected; the repeat is then refused as a
    /// replay and reported as an error although the update is stored.
    pub async fn publish_identity_update(
        &self,
        update: IdentityUpdate,
    ) -> Result<UpdatePublished, NetworkError> {
        check_inbox_id(&update.inbox_id)?;
        let size = update.encoded_len();
        if size > MAX_IDENTITY_UPDATE_BYTES {
            return Err(invalid(&format!(
                "the identity update is {size} bytes; the limit is {MAX_IDENTITY_UPDATE_BYTES}"
            )));
        }
        let budget = self.link.budget();
        let request = PublishIdentityUpdateRequest {
            identity_update: Some(update.clone()),
        };
        let send = |mut api: IdentityApiClient<Channel>, req| async move {
            api.publish_identity_update(req).await
        };
        let mut attempt = 1;
        // Whether an attempt failed without saying whether the node stored the update.
        let mut outcome_unknown = false;
        loop {
            let status = match self
                .link
                .attempt(&budget, &self.api, &request, None, &send)
                .await
            {
                Ok(_) => return Ok(UpdatePublished::Accepted),
                Err(status) => status,
            };
            // Only a failure the retry policy calls transient leaves the outcome open; any
            // other code is the node's answer to this very request: not stored.
            let unknown = is_transient(&status);
            outcome_unknown |= unknown;
            if self
                .link
                .pause_before_retry(PUBLISH_IDENTITY_UPDATE, &status, attempt, &budget)
                .await
            {
                if unknown {
                    match self.in_log(&budget, &update).await {
                        Ok(true) => return Ok(UpdatePublished::FoundInLog),
                        Ok(false) => {}
                        Err(check) => {
                            return Err(self.unconfirmed(&update, &status.to_string(), &check));
                        }
                    }
                }
                attempt += 1;
                continue;
            }
            let error = self.link.failure(PUBLISH_IDENTITY_UPDATE, status, attempt);
            if !outcome_unknown {
                return Err(error);
            }
            return match self.in_log(&budget, &update).await {
                Ok(true) => Ok(UpdatePublished::FoundInLog),
                Ok(false) => Err(error),
                Err(check) => Err(self.unconfirmed(&update, &error.to_string(), &check)),
            };
        }
    }

    /// Whether `update` is in its inbox's log.
    async fn in_log(&self, budget: &Budget, update: &IdentityUpdate) -> Result<bool, NetworkError> {
        let log = self
            .get_identity_updates_within(budget, &update.inbox_id, 0)
            .await?;
        tracing::debug!(url = %self.link.url, inbox_id = %update.inbox_id, updates = log.len(), "read the inbox log back after a publish of unknown outcome");
        Ok(log.iter().any(|logged| logged.update == *update))
    }

    fn unconfirmed(
        &self,
        update: &IdentityUpdate,
        failure: &str,
        check: &NetworkError,
    ) -> NetworkError {
        NetworkError::Unconfirmed {
            url: self.url().to_owned(),
            inbox_id: update.inbox_id.clone(),
            detail: format!("{failure}; reading the log back failed too: {check}"),
        }
    }
}

/// `0x` and 40 lowercase hex digits: how libxmtp writes an Ethereum identifier.
fn lowercase_address(address: &Address) -> String {
    format!("0x{}", hex::encode(address.as_bytes()))
}

/// Whether `text` is an inbox id: a SHA-256 as 64 lowercase hex digits.
fn is_inbox_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_inbox_id(inbox_id: &str) -> Result<(), NetworkError> {
    if is_inbox_id(inbox_id) {
        Ok(())
    } else {
        Err(invalid(&format!(
            "{:?} is not an inbox id (64 lowercase hex digits)",
            truncated(inbox_id)
        )))
    }
}

/// At most the first 80 characters of text a node sent, for an error message.
fn truncated(text: &str) -> String {
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_asked_in_lowercase() {
        let address: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse()
            .expect("address");
        assert_eq!(
            lowercase_address(&address),
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
    }

    #[test]
    fn inbox_ids_are_64_lowercase_hex_digits() {
        let id = "41ff994ea1f9462295cee1ad48c270f6fe3e6307cd9a062e9320cf43a724e348";
        assert!(is_inbox_id(id));
        assert!(!is_inbox_id(&id.to_uppercase()));
        assert!(!is_inbox_id(&id[1..]));
        assert!(!is_inbox_id(&format!("{id}0")));
        assert!(!is_inbox_id(""));
        assert!(check_inbox_id("é").is_err());
        assert_eq!(truncated(&"é".repeat(100)).chars().count(), 80);
    }
}
