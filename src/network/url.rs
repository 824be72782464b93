//! Node URLs: which schemes we accept, and the plaintext-to-loopback-only policy.

use std::net::IpAddr;

use tonic::transport::Uri;

use super::NetworkError;

/// A checked node URL.
#[derive(Clone, Debug)]
pub(crate) struct NodeUrl {
    /// What tonic connects to.
    pub uri: Uri,
    /// `https://`: TLS with the webpki roots.
    pub tls: bool,
    /// `scheme://authority`, used in every error message.
    pub display: String,
    /// The host, as in the URL (an IPv6 address in brackets).
    pub host: String,
}

/// Parses `http://HOST[:PORT]` or `https://HOST[:PORT]`.
///
/// Plaintext is allowed only to loopback hosts unless `allow_insecure_remote`: the
/// publish auth token is a bearer credential, so sending it in clear over a real network
/// should be a deliberate choice.
pub(crate) fn parse_node_url(
    url: &str,
    allow_insecure_remote: bool,
) -> Result<NodeUrl, NetworkError> {
    let invalid = |reason: &str| NetworkError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: Uri = url.parse().map_err(|e| invalid(&format!("{e}")))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        Some(other) => {
            return Err(invalid(&format!(
                "scheme {other}:// is not supported; use http:// or https://"
            )));
        }
        None => {
            return Err(invalid(
                "missing scheme; use http://HOST:PORT or https://HOST[:PORT]",
            ));
        }
    };
    let authority = uri
        .authority()
        .ok_or_else(|| invalid("missing host"))?
        .clone();
    if authority.as_str().contains('@') {
        return Err(invalid("credentials in the URL are not supported"));
    }
    let host = authority.host();
    if host.is_empty() {
        return Err(invalid("missing host"));
    }
    // gRPC routes on the path `/<service>/<method>`, so a base path would be ignored;
    // refuse it rather than silently talk to something else than the user meant.
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(invalid(
            "a node URL has no path or query: use scheme://host:port",
        ));
    }
    if !tls && !allow_insecure_remote && !is_loopback_host(host) {
        return Err(NetworkError::InsecurePlaintext {
            url: url.to_owned(),
        });
    }
    let display = format!("{}://{}", if tls { "https" } else { "http" }, authority);
    let host = host.to_owned();
    Ok(NodeUrl {
        uri,
        tls,
        display,
        host,
    })
}

/// Whether `host` (as in a URL authority, IPv6 possibly in brackets) is this machine.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_loopback_plaintext_and_any_tls() {
        let local = parse_node_url("http://127.0.0.1:5556", false).expect("loopback");
        assert!(!local.tls);
        assert_eq!(local.display, "http://127.0.0.1:5556");
        assert!(parse_node_url("http://localhost:5556/", false).is_ok());
        assert!(parse_node_url("http://[::1]:5556", false).is_ok());
        let remote = parse_node_url("https://grpc.dev.xmtp.network:443", false).expect("tls");
        assert!(remote.tls);
    }

    #[test]
    fn refuses_plaintext_to_remote_hosts_unless_allowed() {
        let err = parse_node_url("http://10.0.0.5:5556", false).expect_err("remote plaintext");
        assert!(
            matches!(err, NetworkError::InsecurePlaintext { .. }),
            "{err}"
        );
        // A name that merely starts like loopback is still remote.
        assert!(parse_node_url("http://127.0.0.1.example.com:5556", false).is_err());
        assert!(parse_node_url("http://10.0.0.5:5556", true).is_ok());
    }

    #[test]
    fn rejects_what_is_not_a_node_origin() {
        for bad in [
            "127.0.0.1:5556",
            "ftp://127.0.0.1:5556",
            "http://127.0.0.1:5556/message/v1",
            "http://127.0.0.1:5556/?x=1",
            "http://user:pw@127.0.0.1:5556",
            "",
            "http://",
        ] {
            let err = parse_node_url(bad, true).expect_err(bad);
            assert!(
                matches!(err, NetworkError::InvalidUrl { .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("127.8.9.10"));
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("LOCALHOST"));
        assert!(!is_loopback_host("0.0.0.0"));
        assert!(!is_loopback_host("example.com"));
        assert!(!is_loopback_host("[::2]"));
    }
}
