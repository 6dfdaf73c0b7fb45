//! Parsing of the forwarding headers: `X-Forwarded-For` (a comma-separated
//! list) and RFC 7239 `Forwarded` (`for=` parameters).

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

/// The forwarding chain, client first, proxies after, as written by the
/// proxies (every header instance in order). `Forwarded` wins when present
/// because it is the standard one; mixing both is not interpreted.
/// Entries that are not addresses (`unknown`, `_hidden`, garbage) are kept
/// as `None` so the caller can stop there.
pub(crate) fn chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<_> = headers.get_all(http::header::FORWARDED).iter().collect();
    if !forwarded.is_empty() {
        let mut out = Vec::new();
        for value in forwarded {
            let Ok(text) = value.to_str() else {
                out.push(None);
                continue;
            };
            for element in text.split(',') {
                let node = element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
                });
                // An element without `for=` says nothing about the client
                // but is still a hop.
                out.push(node.and_then(parse_node));
            }
        }
        return out;
    }
    let mut out = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            out.push(None);
            continue;
        };
        out.extend(text.split(',').map(|e| parse_node(e.trim())));
    }
    out
}

/// One node: `1.2.3.4`, `1.2.3.4:80`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
pub(crate) fn parse_node(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        return rest.get(..end)?.parse().ok();
    }
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_node_forms() {
        assert_eq!(parse_node("1.2.3.4"), Some("1.2.3.4".parse().unwrap()));
        assert_eq!(parse_node("1.2.3.4:80"), Some("1.2.3.4".parse().unwrap()));
        assert_eq!(
            parse_node("\"[2001:db8::1]:4711\""),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            parse_node("2001:db8::1"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(parse_node("unknown"), None);
        assert_eq!(parse_node("[2001:db8::1"), None);
        assert_eq!(parse_node(""), None);
    }

    #[test]
    fn forwarded_wins_over_xff() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "9.9.9.9".parse().unwrap());
        h.append(
            http::header::FORWARDED,
            "for=1.1.1.1;proto=https, for=\"[::1]:80\"".parse().unwrap(),
        );
        h.append(http::header::FORWARDED, "by=x;for=unknown".parse().unwrap());
        let c = chain(&h);
        assert_eq!(
            c,
            vec![
                Some("1.1.1.1".parse().unwrap()),
                Some("::1".parse().unwrap()),
                None
            ]
        );
    }

    #[test]
    fn xff_multiple_headers_in_order() {
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", "1.1.1.1, 2.2.2.2".parse().unwrap());
        h.append("x-forwarded-for", "3.3.3.3".parse().unwrap());
        let c = chain(&h);
        assert_eq!(c.len(), 3);
        assert_eq!(c[2], Some("3.3.3.3".parse().unwrap()));
    }
}
