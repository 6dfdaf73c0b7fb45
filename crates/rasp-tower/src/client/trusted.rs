//! The trusted-proxy list and client address resolution.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use http::{Extensions, HeaderMap};
use ipnet::IpNet;

use super::forwarded;
use super::peer::peer_addr;

/// Networks whose connections may tell the real client address through
/// `Forwarded` / `X-Forwarded-For`.
///
/// # Defaults
/// Empty: forwarding headers are ignored and the peer address is the
/// client. Trusting a proxy you do not run lets anyone pick their address.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies {
    nets: Arc<[IpNet]>,
}

/// The resolved client address and whether it came from a forwarding
/// header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientAddr {
    /// Client IP.
    pub ip: IpAddr,
    /// Client port (the peer's port; 0 when the address came from a
    /// forwarding header without a port).
    pub port: u16,
    /// The address of the connection's peer.
    pub peer: SocketAddr,
    /// True when `ip` was taken from a forwarding header.
    pub forwarded: bool,
}

impl TrustedProxies {
    /// No trusted proxy (the default).
    pub fn none() -> TrustedProxies {
        TrustedProxies::default()
    }

    /// Trusts the given networks.
    pub fn new(nets: impl IntoIterator<Item = IpNet>) -> TrustedProxies {
        TrustedProxies {
            nets: nets.into_iter().collect(),
        }
    }

    /// Parses networks (`10.0.0.0/8`) or single addresses (`127.0.0.1`).
    pub fn parse<'a>(
        items: impl IntoIterator<Item = &'a str>,
    ) -> Result<TrustedProxies, ipnet::AddrParseError> {
        let nets = items
            .into_iter()
            .map(parse_net)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies::new(nets))
    }

    /// True when `ip` is in one of the trusted networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client address of a request: the peer from the extensions, or,
    /// when the peer is trusted, the rightmost address in the forwarding
    /// chain that is not itself trusted (proxies append, so everything left
    /// of the first untrusted hop may be forged). `None` when the server put
    /// no peer address into the extensions.
    pub fn resolve(&self, extensions: &Extensions, headers: &HeaderMap) -> Option<ClientAddr> {
        let peer = peer_addr(extensions)?;
        let mut client = ClientAddr {
            ip: canonical(peer.ip()),
            port: peer.port(),
            peer,
            forwarded: false,
        };
        if self.nets.is_empty() || !self.contains(client.ip) {
            return Some(client);
        }
        for hop in forwarded::chain(headers).into_iter().rev() {
            if !self.contains(client.ip) {
                break;
            }
            // An unreadable hop ends the walk: the last trusted proxy is the
            // best we know.
            let Some(ip) = hop else { break };
            client = ClientAddr {
                ip: canonical(ip),
                port: 0,
                peer,
                forwarded: true,
            };
        }
        Some(client)
    }
}

/// IPv4-mapped IPv6 addresses (dual-stack sockets) become IPv4, so that
/// `10.0.0.0/8` matches `::ffff:10.0.0.1`.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// A network or a single address.
pub(crate) fn parse_net(s: &str) -> Result<IpNet, ipnet::AddrParseError> {
    let s = s.trim();
    match IpAddr::from_str(s) {
        Ok(ip) => Ok(IpNet::from(ip)),
        Err(_) => s.parse(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::PeerAddr;

    fn ext(peer: &str) -> Extensions {
        let mut e = Extensions::new();
        e.insert(PeerAddr(peer.parse().unwrap()));
        e
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn untrusted_peer_ignores_headers() {
        let t = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        let c = t.resolve(&ext("1.2.3.4:5"), &xff("6.6.6.6")).unwrap();
        assert_eq!(c.ip, "1.2.3.4".parse::<IpAddr>().unwrap());
        assert!(!c.forwarded);
        let none = TrustedProxies::none()
            .resolve(&ext("10.0.0.1:5"), &xff("6.6.6.6"))
            .unwrap();
        assert_eq!(none.ip, "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn trusted_chain_walks_from_the_right() {
        let t = TrustedProxies::parse(["10.0.0.0/8", "127.0.0.1"]).unwrap();
        // The attacker forged 6.6.6.6; 5.5.5.5 is what our proxy saw.
        let c = t
            .resolve(&ext("127.0.0.1:5"), &xff("6.6.6.6, 5.5.5.5, 10.1.1.1"))
            .unwrap();
        assert_eq!(c.ip, "5.5.5.5".parse::<IpAddr>().unwrap());
        assert!(c.forwarded);
        // All hops trusted: the leftmost is the client.
        let c = t
            .resolve(&ext("127.0.0.1:5"), &xff("10.2.2.2, 10.1.1.1"))
            .unwrap();
        assert_eq!(c.ip, "10.2.2.2".parse::<IpAddr>().unwrap());
        // Garbage stops the walk at the last trusted hop.
        let c = t
            .resolve(&ext("127.0.0.1:5"), &xff("6.6.6.6, bogus"))
            .unwrap();
        assert_eq!(c.ip, "127.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn mapped_v6_is_v4() {
        let t = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        assert!(t.contains("::ffff:10.0.0.1".parse().unwrap()));
        let c = TrustedProxies::none()
            .resolve(&ext("[::ffff:1.2.3.4]:80"), &HeaderMap::new())
            .unwrap();
        assert_eq!(c.ip, "1.2.3.4".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn no_peer_no_client() {
        assert!(TrustedProxies::none()
            .resolve(&Extensions::new(), &HeaderMap::new())
            .is_none());
    }
}
