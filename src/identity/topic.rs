//! XMTP v2 content topics: `/xmtp/0/<name>/proto`, with EIP-55 addresses.

use super::Address;

/// The topic holding a wallet's public contact bundles.
pub fn contact_topic(wallet: &Address) -> String {
    format!("/xmtp/0/contact-{wallet}/proto")
}

/// The topic holding a wallet's encrypted private key bundle.
pub fn private_store_topic(wallet: &Address) -> String {
    format!("/xmtp/0/privatestore-{wallet}/key_bundle/proto")
}

/// The wallet a restricted topic belongs to, as the reference node reads it: segment 3
/// split at the first `-`, for the `contact` and `privatestore` categories.
/// `None` for topics anyone may publish to.
pub fn restricted_topic_owner(topic: &str) -> Option<&str> {
    let rest = topic.strip_prefix("/xmtp/0/")?;
    let segment = rest.split('/').next()?;
    let (category, owner) = segment.split_once('-')?;
    matches!(category, "contact" | "privatestore").then_some(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_use_checksummed_address() {
        let wallet: Address = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
            .parse()
            .unwrap();
        assert_eq!(
            contact_topic(&wallet),
            "/xmtp/0/contact-0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266/proto"
        );
        assert_eq!(
            private_store_topic(&wallet),
            "/xmtp/0/privatestore-0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266/key_bundle/proto"
        );
        assert_eq!(
            restricted_topic_owner(&private_store_topic(&wallet)),
            Some("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        assert_eq!(restricted_topic_owner("/xmtp/0/m-abc/proto"), None);
        assert_eq!(restricted_topic_owner("/other/contact-x"), None);
    }
}
