//! What a request is limited by: [`KeyExtractor`] and its default,
//! [`PeerIp`].

use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;

use http::{Extensions, HeaderMap, Method, Uri};

/// What a key extractor sees of a request.
#[derive(Debug)]
#[non_exhaustive]
pub struct KeyInput<'a> {
    /// Request method.
    pub method: &'a Method,
    /// Request target.
    pub uri: &'a Uri,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// Request extensions.
    pub extensions: &'a Extensions,
    /// The client IP, after the trusted-proxy rules (`None` when the server
    /// put no peer address into the extensions).
    pub client_ip: Option<IpAddr>,
}

/// Chooses the bucket a request counts against. Requests for which it
/// returns `None` are not limited (allow-listing by other criteria).
///
/// Implemented for [`PeerIp`] (the default) and for closures
/// `Fn(&KeyInput<'_>) -> Option<K>`.
pub trait KeyExtractor: Clone + Send + Sync + 'static {
    /// The key type.
    type Key: Hash + Eq + Clone + Send + Sync + fmt::Debug + 'static;

    /// The key of one request.
    fn extract(&self, input: &KeyInput<'_>) -> Option<Self::Key>;
}

/// Limits by client IP. IPv6 clients are grouped by prefix (a /64 by
/// default), because one host usually owns a whole /64 and could otherwise
/// rotate through 2^64 keys.
///
/// # Defaults
/// `ipv6_prefix`: 64.
#[derive(Clone, Copy, Debug)]
pub struct PeerIp {
    ipv6_prefix: u8,
}

impl Default for PeerIp {
    fn default() -> PeerIp {
        PeerIp { ipv6_prefix: 64 }
    }
}

impl PeerIp {
    /// Groups IPv6 clients by `len` leading bits (clamped to 0–128).
    /// Default is 64; 128 keys every address apart.
    pub fn ipv6_prefix(mut self, len: u8) -> PeerIp {
        self.ipv6_prefix = len.min(128);
        self
    }
}

impl KeyExtractor for PeerIp {
    type Key = IpAddr;

    fn extract(&self, input: &KeyInput<'_>) -> Option<IpAddr> {
        Some(match input.client_ip? {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.ipv6_prefix))
                    .unwrap_or(0);
                IpAddr::V6((bits & mask).into())
            }
            v4 => v4,
        })
    }
}

impl<F, K> KeyExtractor for F
where
    F: Fn(&KeyInput<'_>) -> Option<K> + Clone + Send + Sync + 'static,
    K: Hash + Eq + Clone + Send + Sync + fmt::Debug + 'static,
{
    type Key = K;

    fn extract(&self, input: &KeyInput<'_>) -> Option<K> {
        self(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        ip: &str,
        m: &'a Method,
        u: &'a Uri,
        h: &'a HeaderMap,
        e: &'a Extensions,
    ) -> KeyInput<'a> {
        KeyInput {
            method: m,
            uri: u,
            headers: h,
            extensions: e,
            client_ip: Some(ip.parse().unwrap()),
        }
    }

    #[test]
    fn v6_grouped_by_prefix() {
        let (m, u, h, e) = (
            Method::GET,
            Uri::from_static("/"),
            HeaderMap::new(),
            Extensions::new(),
        );
        let k = PeerIp::default()
            .extract(&input("2001:db8:1:2:aaaa::1", &m, &u, &h, &e))
            .unwrap();
        assert_eq!(k, "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        let k = PeerIp::default()
            .ipv6_prefix(128)
            .extract(&input("2001:db8::1", &m, &u, &h, &e))
            .unwrap();
        assert_eq!(k, "2001:db8::1".parse::<IpAddr>().unwrap());
        let k = PeerIp::default()
            .ipv6_prefix(0)
            .extract(&input("2001:db8::1", &m, &u, &h, &e))
            .unwrap();
        assert_eq!(k, "::".parse::<IpAddr>().unwrap());
        let k = PeerIp::default()
            .extract(&input("1.2.3.4", &m, &u, &h, &e))
            .unwrap();
        assert_eq!(k, "1.2.3.4".parse::<IpAddr>().unwrap());
    }
}
