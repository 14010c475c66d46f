//! Which records from two capture inputs are the same TCP connection, which of the two points
//! sits nearer the client, and how far apart the two capture hosts' clocks are.
//!
//! Matching: by the initial sequence numbers first (a NAT rewrites addresses and ports but
//! keeps them; RFC 9293 §3.4.1 makes an ISN pair practically unique), then, for connections
//! captured without their SYNs, by the same client and server address with overlapping times;
//! last, where a firewall also rewrote the sequence numbers, by the same packets and payload
//! bytes in each direction within 10 s, when exactly one record fits each side.
//! Records pair only across different inputs, one partner each, within an hour of each other.
//!
//! Clock offset: from a paired handshake, as NTP does (RFC 5905 §8) with the SYN going one
//! way and the SYN+ACK the other: offset = ((t_syn' + t_synack') − (t_syn + t_synack)) / 2,
//! primes at the second point; without both SYNs, the difference of the first packets. The
//! offset between two inputs is the median over their paired connections, as `correlate`
//! estimates a log host's skew.

use std::collections::BTreeMap;

use crate::connection::Connection;
use crate::flow::tcp::TcpDir;
use crate::vocab::Transport;

/// Two records of one connection (indices into the records given to `pairs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
}

/// Clock offset of the second input against the first, in nanoseconds, per ordered pair of
/// inputs.
pub type Offsets = BTreeMap<(String, String), i64>;

/// How far apart two records of one connection may start.
const MAX_APART_NS: i64 = 3600 * 1_000_000_000;

fn isns(c: &Connection) -> Option<(u32, Option<u32>)> {
    let t = c.tcp.as_ref()?;
    Some((t.client_to_server.isn()?, t.server_to_client.isn()))
}

fn close_in_time(a: &Connection, b: &Connection) -> bool {
    a.start.0.abs_diff(b.start.0) <= MAX_APART_NS as u64
}

/// The records of one connection seen by two capture inputs, in the order of `conns`.
pub fn pairs(conns: &[Connection]) -> Vec<Pair> {
    let mut out = Vec::new();
    let mut taken = vec![false; conns.len()];
    let tcp: Vec<usize> = (0..conns.len()).filter(|&i| conns[i].transport == Transport::Tcp).collect();
    // By the client's ISN (and the server's, when both points saw it).
    let mut by_isn: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &i in &tcp {
        if let Some((c, _)) = isns(&conns[i]) {
            by_isn.entry(c).or_default().push(i);
        }
    }
    for group in by_isn.values() {
        for (n, &a) in group.iter().enumerate() {
            for &b in &group[n + 1..] {
                let (Some((_, sa)), Some((_, sb))) = (isns(&conns[a]), isns(&conns[b])) else { continue };
                let servers_agree = sa.zip(sb).is_none_or(|(x, y)| x == y);
                let free = !taken[a] && !taken[b] && conns[a].input != conns[b].input;
                if free && servers_agree && close_in_time(&conns[a], &conns[b]) {
                    taken[a] = true;
                    taken[b] = true;
                    out.push(Pair { a, b });
                }
            }
        }
    }
    // Captured without the handshake: the same addresses, overlapping in time.
    for (n, &a) in tcp.iter().enumerate() {
        for &b in &tcp[n + 1..] {
            let (x, y) = (&conns[a], &conns[b]);
            let overlap = x.start <= y.end && y.start <= x.end;
            let no_isn = isns(x).is_none() || isns(y).is_none();
            let free = !taken[a] && !taken[b] && x.input != y.input;
            if free && no_isn && overlap && x.client == y.client && x.server == y.server {
                taken[a] = true;
                taken[b] = true;
                out.push(Pair { a, b });
            }
        }
    }
    // A firewall that rewrites sequence numbers too: the same data both ways, nearly at once,
    // and no other record that fits as well.
    let fits = |x: &Connection, y: &Connection| {
        let (Some(p), Some(q)) = (x.tcp.as_ref(), y.tcp.as_ref()) else { return false };
        let same = |a: &TcpDir, b: &TcpDir| a.payload_bytes == b.payload_bytes && a.packets == b.packets;
        x.input != y.input
            && p.client_to_server.payload_bytes > 0
            && p.server_to_client.payload_bytes > 0
            && same(&p.client_to_server, &q.client_to_server)
            && same(&p.server_to_client, &q.server_to_client)
            && x.start.0.abs_diff(y.start.0) <= SAME_DATA_APART_NS
    };
    for &a in &tcp {
        let cands: Vec<usize> =
            tcp.iter().copied().filter(|&b| b != a && !taken[b] && fits(&conns[a], &conns[b])).collect();
        if let [b] = cands[..]
            && !taken[a]
            && tcp.iter().filter(|&&x| x != b && !taken[x] && fits(&conns[x], &conns[b])).count() == 1
        {
            taken[a] = true;
            taken[b] = true;
            out.push(Pair { a: a.min(b), b: a.max(b) });
        }
    }
    out.sort_by_key(|p| (p.a, p.b));
    out
}

/// How far apart two records with the same data both ways may start to be one connection whose
/// sequence numbers a firewall rewrote (clocks of hosts kept in time by NTP or Windows time).
const SAME_DATA_APART_NS: u64 = 10 * 1_000_000_000;

/// The clock of `b`'s point minus the clock of `a`'s point, from one connection.
pub fn handshake_offset(a: &Connection, b: &Connection) -> i64 {
    let hs = |c: &Connection| {
        let t = c.tcp.as_ref()?;
        Some((t.client_to_server.syns.first()?.ts.0, t.server_to_client.syns.first()?.ts.0))
    };
    match (hs(a), hs(b)) {
        (Some((s1, a1)), Some((s2, a2))) => {
            let sum = |x: i64, y: i64| x as i128 + y as i128;
            ((sum(s2, a2) - sum(s1, a1)) / 2).clamp(i64::MIN as i128, i64::MAX as i128) as i64
        }
        _ => b.start.0.saturating_sub(a.start.0),
    }
}

/// The median offset per ordered pair of inputs (both orders, opposite signs).
pub fn offsets(conns: &[Connection], pairs: &[Pair]) -> Offsets {
    let mut all: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for p in pairs {
        let (a, b) = (&conns[p.a], &conns[p.b]);
        all.entry((a.input.clone(), b.input.clone())).or_default().push(handshake_offset(a, b));
        all.entry((b.input.clone(), a.input.clone())).or_default().push(handshake_offset(b, a));
    }
    all.into_iter()
        .map(|(k, mut v)| {
            v.sort_unstable();
            let mid = v.len() / 2;
            let m = if v.len() % 2 == 1 { v[mid] } else { ((v[mid - 1] as i128 + v[mid] as i128) / 2) as i64 };
            (k, m)
        })
        .collect()
}

/// Whether `a`'s point sits nearer the client than `b`'s: the client's packets carry a higher
/// TTL there (each router decrements it, RFC 791 §3.2 / RFC 8200 §3), or the server's a lower
/// one; with equal TTLs, the point that saw the longer SYN → SYN+ACK interval (the client's
/// point waits a full round trip, the server's only the server's turnaround). Undecided: the
/// input whose name sorts first (not the order the inputs were given in).
pub fn nearer_client(a: &Connection, b: &Connection) -> bool {
    let dirs = |c: &Connection| c.tcp.as_ref().map(|t| (t.client_to_server.clone(), t.server_to_client.clone()));
    let (Some((ac, as_)), Some((bc, bs))) = (dirs(a), dirs(b)) else { return a.input <= b.input };
    if let (Some(x), Some(y)) = (ac.ttl_first, bc.ttl_first)
        && x != y
    {
        return x > y;
    }
    if let (Some(x), Some(y)) = (as_.ttl_first, bs.ttl_first)
        && x != y
    {
        return x < y;
    }
    let rtt = |c: &TcpDir, s: &TcpDir| Some(s.syns.first()?.ts.0 - c.syns.first()?.ts.0);
    match (rtt(&ac, &as_), rtt(&bc, &bs)) {
        (Some(x), Some(y)) if x != y => x > y,
        // Undecided: by input name, so the choice does not depend on the order of the inputs.
        _ => a.input <= b.input,
    }
}
