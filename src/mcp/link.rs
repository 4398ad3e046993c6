//! The rule for a link a server sends a client to open (an elicitation's URL, the
//! approvers' page): `https:` with a host, or `http:` to this machine for a local flow.
//! Anything else (`javascript:`, `data:`, `file:`, `http:` across the network) is not one.

/// Whether a client may be sent to `url`.
pub(crate) fn safe_to_open(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("https") => !host.is_empty(),
        Some("http") => loopback,
        _ => false,
    }
}
