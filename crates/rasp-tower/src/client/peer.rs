//! The connection's peer address as a request extension.

use std::net::SocketAddr;

use http::Extensions;

/// The address of the peer that opened the connection, stored in the
/// request extensions by the server (one value per connection, copied into
/// every request of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);

/// The local address the connection was accepted on, stored in the
/// request extensions by the server (optional; `SERVER_ADDR`/`SERVER_PORT`
/// are `0.0.0.0:0` without it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LocalAddr(pub SocketAddr);

/// The peer address from the request extensions: a [`PeerAddr`], else a
/// bare [`SocketAddr`], else (feature `axum`) axum's
/// `ConnectInfo<SocketAddr>`.
pub fn peer_addr(extensions: &Extensions) -> Option<SocketAddr> {
    let found = extensions
        .get::<PeerAddr>()
        .map(|p| p.0)
        .or_else(|| extensions.get::<SocketAddr>().copied());
    #[cfg(feature = "axum")]
    let found = found.or_else(|| {
        extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
    });
    found
}
