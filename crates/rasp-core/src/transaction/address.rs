//! `REMOTE_ADDR` and `SERVER_ADDR` as text.
//!
//! Why not `IpAddr::to_string`: every transaction formats two addresses,
//! and the formatting machinery plus a new `String` each cost about 1,100
//! instructions per IPv4 address (callgrind, the bench's GET); the digits
//! written straight into the transaction's own buffer cost a few dozen.

use std::io::Write;
use std::net::IpAddr;

/// Replaces `out` with `ip` in its usual text form (dotted quad for IPv4,
/// RFC 5952 for IPv6, as `Display` writes them).
pub(super) fn write_ip(out: &mut Vec<u8>, ip: IpAddr) {
    out.clear();
    match ip {
        IpAddr::V4(v4) => {
            // At most "255.255.255.255": one allocation, not two.
            out.reserve(15);
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                if octet >= 100 {
                    out.push(b'0' + octet / 100);
                }
                if octet >= 10 {
                    out.push(b'0' + octet / 10 % 10);
                }
                out.push(b'0' + octet % 10);
            }
        }
        // Writing to a vector cannot fail.
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn writes_what_display_writes(v4 in any::<[u8; 4]>(), v6 in any::<[u16; 8]>()) {
            let mut out = b"stale".to_vec();
            for ip in [IpAddr::from(v4), IpAddr::from(v6)] {
                write_ip(&mut out, ip);
                prop_assert_eq!(String::from_utf8_lossy(&out), ip.to_string());
            }
        }
    }

    #[test]
    fn writes_the_edge_octets() {
        let mut out = Vec::new();
        for (ip, text) in [
            ([0, 0, 0, 0], "0.0.0.0"),
            ([255, 255, 255, 255], "255.255.255.255"),
            ([10, 100, 9, 199], "10.100.9.199"),
        ] {
            write_ip(&mut out, IpAddr::from(ip));
            assert_eq!(out, text.as_bytes());
        }
    }
}
