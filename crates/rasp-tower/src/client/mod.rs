//! Who is the client? The peer address of the connection, optionally
//! replaced by `X-Forwarded-For` / `Forwarded` when the peer is a trusted
//! proxy.
//!
//! Servers put the peer address into the request extensions: hyper users
//! insert a [`PeerAddr`] per connection (see the `protected_server`
//! example); axum's `ConnectInfo<SocketAddr>` is not visible to this crate,
//! so axum users add a [`PeerAddr`] as well (one `map_request` line). A bare
//! `SocketAddr` extension is accepted too.
//!
//! Forwarding headers are spoofable by anyone, so they are read only when
//! the connection comes from an address in [`TrustedProxies`]; the list is
//! empty by default.

mod forwarded;
mod peer;
mod trusted;

pub use peer::{peer_addr, LocalAddr, PeerAddr};
pub use trusted::{ClientAddr, TrustedProxies};
