//! Who is the client? The peer address of the connection, optionally
//! replaced by `X-Forwarded-For` / `Forwarded` when the peer is a trusted
//! proxy.
//!
//! Servers put the peer address into the request extensions: hyper users
//! insert a [`PeerAddr`] per connection (see the `protected_server`
//! example); axum users serve with
//! `into_make_service_with_connect_info::<SocketAddr>()` and enable this
//! crate's `axum` feature, which reads axum's `ConnectInfo<SocketAddr>`. A
//! bare `SocketAddr` extension is accepted too. Without any of them the
//! client is `0.0.0.0` and per-IP rate limits do not apply.
//!
//! Forwarding headers are spoofable by anyone, so they are read only when
//! the connection comes from an address in [`TrustedProxies`]; the list is
//! empty by default.

mod forwarded;
mod peer;
mod trusted;

pub use peer::{peer_addr, LocalAddr, PeerAddr};
pub use trusted::{ClientAddr, TrustedProxies};
