//! The client's address behind load balancers: `X-Forwarded-For`, believed only when the
//! connection comes from a proxy the operator trusts (`--trusted-proxies`). Without that list
//! the header is ignored, since any client could write one to change its rate-limit bucket
//! or its address in the audit log.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;

/// An address range: an IP and a prefix length (`10.0.0.0/8`, `::1`, `192.168.1.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Whether `ip` lies in the range (an IPv4 range also holds IPv4-mapped IPv6 addresses).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32)
                    == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128) == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The top `prefix` bits of a `bits`-wide address.
fn masked(value: u128, prefix: u8, bits: u8) -> u128 {
    if prefix == 0 { 0 } else { value >> (bits - prefix) }
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| {
            format!("'{s}' is not an IP address or range: write e.g. 10.0.0.5, 10.0.0.0/8 or fd00::/8")
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("'{s}': the prefix length must be a number from 0 to {max}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

/// The address of the client that sent a request which reached us from `peer`.
///
/// When `peer` is a trusted proxy, `X-Forwarded-For` is read from the right (each proxy
/// appends the address it received the request from) and the first address that is not
/// itself a trusted proxy is the client. A malformed entry stops the walk at the last
/// proxy, which is then taken as the client: a garbled header never lets a client choose.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpRange]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(list: &[&str]) -> Vec<IpRange> {
        list.iter().map(|s| s.parse().expect("range")).collect()
    }

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().expect("header"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn ranges_parse_and_match() {
        let r: IpRange = "10.0.0.0/8".parse().expect("v4 range");
        assert!(r.contains(ip("10.200.3.4")));
        assert!(r.contains(ip("::ffff:10.1.2.3")));
        assert!(!r.contains(ip("11.0.0.1")));
        let one: IpRange = "192.168.1.7".parse().expect("v4 address");
        assert!(one.contains(ip("192.168.1.7")) && !one.contains(ip("192.168.1.8")));
        let v6: IpRange = "fd00::/8".parse().expect("v6 range");
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all: IpRange = "0.0.0.0/0".parse().expect("everything");
        assert!(all.contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0.0/x", "::/129"] {
            let err = bad.parse::<IpRange>().expect_err(bad);
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_from_trusted_proxies_only() {
        let trusted = ranges(&["10.0.0.0/8"]);
        let xff = headers(&["203.0.113.9"]);
        // An untrusted peer's header is ignored.
        assert_eq!(client_ip(ip("198.51.100.1"), &xff, &trusted), ip("198.51.100.1"));
        // A trusted balancer's is read.
        assert_eq!(client_ip(ip("10.0.0.2"), &xff, &trusted), ip("203.0.113.9"));
        // Nothing trusted: never read.
        assert_eq!(client_ip(ip("10.0.0.2"), &xff, &[]), ip("10.0.0.2"));
    }

    #[test]
    fn the_walk_stops_at_the_first_untrusted_hop() {
        let trusted = ranges(&["10.0.0.0/8"]);
        // The client wrote "1.1.1.1" itself; 203.0.113.9 is what our proxies saw.
        let xff = headers(&["1.1.1.1, 203.0.113.9", "10.0.0.7"]);
        assert_eq!(client_ip(ip("10.0.0.2"), &xff, &trusted), ip("203.0.113.9"));
        // A garbled entry ends the walk at the last good proxy hop.
        let xff = headers(&["203.0.113.9, garbage"]);
        assert_eq!(client_ip(ip("10.0.0.2"), &xff, &trusted), ip("10.0.0.2"));
        // No header: the proxy itself.
        assert_eq!(client_ip(ip("10.0.0.2"), &HeaderMap::new(), &trusted), ip("10.0.0.2"));
    }
}
