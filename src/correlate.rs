//! Correlation: joins each connection from the capture to the Windows events that concern it,
//! and estimates each log host's clock offset from the capture clock.
//!
//! Exact keys first: the client `ip:port` that RdpCoreTS 131, Security 4624/4625 and WFP
//! 5152/5156/5157 carry is the connection's own 5-tuple side. Those pairs give one clock offset
//! per log host (`Computer`): the median of the pair differences, with their spread as the
//! confidence. Events without a port (Schannel, SCM, TermDD, RCM, RdpCoreTS errors, the client's
//! own events) are then joined by time window around the connection, on the host that serves it.
//! When there is no capture, connections come from the events themselves (`from_events`).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Serialize;

use crate::connection::Connection;
use crate::events::catalog::{CLIENT, CORE, SECURITY, TypedEvent};
use crate::time::Ts;
use crate::vocab::Endpoint;

/// Seconds around a connection within which a keyless event is considered related.
pub const WINDOW_S: f64 = 2.0;
/// Window around a connection known only from the logs.
const LOG_ONLY_WINDOW_NS: i64 = 30_000_000_000;
/// Window within which a network (type 3) logon joins a connection seen only in the logs.
const NETWORK_LOGON_WINDOW_NS: i64 = 5_000_000_000;
/// Largest clock offset believed from exact-key pairs (beyond it the pair is a coincidence).
const MAX_OFFSET_S: f64 = 3600.0;

/// The clock offset of one log host against the capture (DESIGN.md JSON `clock_skew[]`).
#[derive(Clone, Debug)]
pub struct ClockSkew {
    /// The log host (`Computer`).
    pub source: String,
    /// Add to the capture clock to get the host's clock (event time − packet time).
    pub offset_seconds: f64,
    /// What the offset was measured on.
    pub anchor: String,
    /// `high` (3+ pairs within 0.5 s), `medium` (pairs within 2 s), `low` (no or scattered pairs).
    pub confidence: &'static str,
    pub pairs: usize,
    pub spread_seconds: f64,
}

/// How an event was joined to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JoinedBy {
    /// Same client IP and TCP source port.
    ClientPort,
    /// Same client IP, inside the connection's time window.
    ClientIp,
    /// Same server host, inside the connection's time window.
    TimeWindow,
    /// The client's own events of one attempt share an ActivityID (1024 → 1026).
    Activity,
}

/// One event joined to one connection.
#[derive(Clone, Debug, Serialize)]
pub struct Joined {
    /// Index into the analysis' `events`.
    pub event: usize,
    pub by: JoinedBy,
    /// The event's time on the capture clock (its host's offset removed).
    #[serde(serialize_with = "crate::connection::ser_ts")]
    pub ts: Ts,
}

/// The correlation of one analysis.
#[derive(Clone, Debug, Default)]
pub struct Correlation {
    pub skews: Vec<ClockSkew>,
    /// Per connection (same order as the input), the events joined to it, in time order.
    pub joined: Vec<Vec<Joined>>,
}

impl Correlation {
    /// The capture-clock time of an event.
    pub fn adjust(&self, e: &TypedEvent) -> Ts {
        let off = self.skews.iter().find(|s| s.source == e.host).map(|s| s.offset_seconds).unwrap_or(0.0);
        Ts(e.ts.0.saturating_sub((off * 1e9) as i64))
    }
}

fn client_of(c: &Connection) -> Option<SocketAddr> {
    c.client.addr()
}

fn server_of(c: &Connection) -> Option<SocketAddr> {
    c.server.addr()
}

/// Whether an exact-key event measures the clock: "connection accepted" (RdpCoreTS 131) and
/// firewall events happen at the SYN; logon events (4624/4625) happen somewhere in the NLA
/// exchange, so they are used only when nothing better exists.
fn clock_anchor(e: &TypedEvent) -> Option<bool> {
    match (&*e.provider, e.event_id) {
        (CORE, 131) | (SECURITY, 5152 | 5156 | 5157) => Some(true),
        (SECURITY, 4624 | 4625) => Some(false),
        _ => None,
    }
}

/// The packet time an exact-key event corresponds to: the SYN for "connection accepted" and
/// firewall events, the end of the connection for logon events.
fn anchor_time(c: &Connection, e: &TypedEvent) -> Ts {
    match clock_anchor(e) {
        Some(false) => c.teardown.at.map(|a| a.ts).unwrap_or(c.end),
        _ => c.start,
    }
}

/// A Security logon event of type 3 (network): NLA's step, or any SMB/WinRM/IIS logon.
fn network_logon(e: &TypedEvent) -> bool {
    e.provider == SECURITY && matches!(e.event_id, 4624 | 4625) && e.facts.logon_type == Some(3)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Joins events to connections. `skew` overrides the estimated offsets (seconds, all hosts).
pub fn correlate(conns: &[Connection], events: &[TypedEvent], skew: Option<f64>) -> Correlation {
    // 1. Exact-key pairs: (connection, event) with the same client ip:port.
    let mut by_client: BTreeMap<SocketAddr, Vec<usize>> = BTreeMap::new();
    for (i, c) in conns.iter().enumerate() {
        // Seen at two capture points through a NAT, the server's logs name the client as the
        // server's point saw it (`twopoint` views).
        let seen = client_of(c).into_iter().chain(c.views.iter().filter_map(|v| v.client.addr()));
        for a in seen.collect::<std::collections::BTreeSet<_>>() {
            by_client.entry(a).or_default().push(i);
        }
    }
    let mut exact: Vec<(usize, usize)> = Vec::new();
    for (ei, e) in events.iter().enumerate() {
        let Some(addr) = e.client.and_then(|c| c.port.map(|p| SocketAddr::new(c.ip, p))) else { continue };
        let Some(cands) = by_client.get(&addr) else { continue };
        // Port reuse: the connection whose start is nearest to the event.
        if let Some(&ci) = cands.iter().min_by_key(|&&ci| e.ts.0.abs_diff(conns[ci].start.0)) {
            if e.ts.since(conns[ci].start).abs() <= MAX_OFFSET_S {
                exact.push((ci, ei));
            }
        }
    }
    // 2. Clock offset per log host.
    let mut deltas: BTreeMap<&str, (Vec<f64>, Vec<String>)> = BTreeMap::new();
    // One pair per connection and host: its earliest SYN-time event, else its earliest logon.
    let mut measured: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    for &(ci, ei) in &exact {
        let e = &events[ei];
        // Connections seen only in the logs are on the log's own clock: they measure nothing.
        let from_packets = conns[ci].tcp.is_some() || conns[ci].udp.is_some();
        let Some(at_syn) = clock_anchor(e).filter(|_| from_packets) else { continue };
        let slot = measured.entry((ci, e.host.as_str())).or_insert(ei);
        let cur = &events[*slot];
        let better =
            (at_syn && clock_anchor(cur) != Some(true)) || (clock_anchor(cur) == Some(at_syn) && e.ts < cur.ts);
        if better {
            *slot = ei;
        }
    }
    let syn_hosts: std::collections::BTreeSet<&str> = measured
        .values()
        .filter(|&&ei| clock_anchor(&events[ei]) == Some(true))
        .map(|&ei| events[ei].host.as_str())
        .collect();
    for (&(ci, _), &ei) in &measured {
        let e = &events[ei];
        if clock_anchor(e) == Some(false) && syn_hosts.contains(e.host.as_str()) {
            continue;
        }
        let d = deltas.entry(e.host.as_str()).or_default();
        d.0.push(e.ts.since(anchor_time(&conns[ci], e)));
        let anchor = format!("{} {}", crate::timeline::short_provider(&e.provider), e.event_id);
        if !d.1.contains(&anchor) {
            d.1.push(anchor);
        }
    }
    let mut skews = Vec::new();
    let hosts: std::collections::BTreeSet<&str> = events.iter().map(|e| e.host.as_str()).collect();
    for host in hosts {
        let (mut ds, anchors) = deltas.remove(host).unwrap_or_default();
        let pairs = ds.len();
        let med = median(&mut ds);
        let spread = ds.iter().map(|d| (d - med).abs()).fold(0.0, f64::max);
        let (offset, confidence, anchor) = match skew {
            Some(s) => (s, "high", "--skew given on the command line".to_string()),
            None if pairs == 0 => (0.0, "low", "no event shares a client ip:port with the capture".to_string()),
            None => {
                let conf = if pairs >= 3 && spread <= 0.5 {
                    "high"
                } else if spread <= 2.0 {
                    "medium"
                } else {
                    "low"
                };
                (med, conf, format!("median of {pairs} client ip:port pair(s): {}", anchors.join(", ")))
            }
        };
        skews.push(ClockSkew {
            source: host.to_string(),
            offset_seconds: (offset * 1000.0).round() / 1000.0,
            anchor,
            confidence,
            pairs,
            spread_seconds: (spread * 1000.0).round() / 1000.0,
        });
    }
    let mut corr = Correlation { skews, joined: vec![Vec::new(); conns.len()] };
    // 3. Which capture server each log host is: learned from the exact pairs.
    let mut host_server: BTreeMap<&str, Vec<std::net::IpAddr>> = BTreeMap::new();
    for &(ci, ei) in &exact {
        if let Some(s) = server_of(&conns[ci]) {
            let v = host_server.entry(events[ei].host.as_str()).or_default();
            if !v.contains(&s.ip()) {
                v.push(s.ip());
            }
        }
    }
    let servers: std::collections::BTreeSet<std::net::IpAddr> =
        conns.iter().filter_map(server_of).map(|s| s.ip()).collect();
    for &(ci, ei) in &exact {
        let ts = corr.adjust(&events[ei]);
        corr.joined[ci].push(Joined { event: ei, by: JoinedBy::ClientPort, ts });
    }
    // 4. Keyless events by time window, on the right host: each joins the one connection it
    //    falls in (or, failing that, the nearest one), never all of them.
    let window = (WINDOW_S * 1e9) as i64;
    let joined_exactly: std::collections::BTreeSet<usize> = exact.iter().map(|&(_, ei)| ei).collect();
    // Connections by start time: an event can only fall near those starting at most the widest
    // window plus the longest connection before it (without this the loop below was
    // events × connections: 3.3 s for 5,000 connections and 53,000 events).
    let reach = window.max(LOG_ONLY_WINDOW_NS);
    let longest = conns.iter().map(|c| c.end.0.saturating_sub(c.start.0)).max().unwrap_or(0);
    let mut by_start: Vec<usize> = (0..conns.len()).collect();
    by_start.sort_by_key(|&ci| conns[ci].start);
    let mut near = Vec::new();
    for (ei, e) in events.iter().enumerate() {
        if joined_exactly.contains(&ei) {
            continue;
        }
        let ts = corr.adjust(e);
        let from = ts.0.saturating_sub(reach).saturating_sub(longest);
        let lo = by_start.partition_point(|&ci| conns[ci].start.0 < from);
        let hi = by_start.partition_point(|&ci| conns[ci].start.0 <= ts.0.saturating_add(reach));
        near.clear();
        near.extend_from_slice(by_start.get(lo..hi.max(lo)).unwrap_or_default());
        // In connection order, so that ties go to the first connection as before.
        near.sort_unstable();
        let mut best: Option<(i64, usize, JoinedBy)> = None;
        for &ci in &near {
            let c = &conns[ci];
            // A connection seen only in the logs has no packet times to bound it: its events
            // (logon, session start) follow the "connection accepted" event by seconds.
            // A network (type 3) logon counts only when the RDP event is seconds away: alone it
            // is as likely SMB or WinRM.
            let w = match (c.tcp.is_none() && c.udp.is_none(), network_logon(e)) {
                (true, true) => NETWORK_LOGON_WINDOW_NS,
                (true, false) => LOG_ONLY_WINDOW_NS,
                (false, _) => window,
            };
            // Saturating: damaged timestamps put events and connections at the ends of `Ts`'s range.
            if ts.0 < c.start.0.saturating_sub(w) || ts.0 > c.end.0.saturating_add(w) {
                continue;
            }
            let ips = || std::iter::once(&c.client).chain(c.views.iter().map(|v| &v.client)).filter_map(|x| x.ip());
            let by = if e.client.is_some_and(|a| ips().any(|ip| ip == a.ip)) {
                JoinedBy::ClientIp
            } else if e.client.is_some() {
                continue; // an event about another client
            } else if e.provider == CLIENT {
                JoinedBy::TimeWindow // the client's own log: no server host to check
            } else {
                let serves = match (host_server.get(e.host.as_str()), server_of(c)) {
                    (Some(ips), Some(s)) => ips.contains(&s.ip()),
                    (None, Some(_)) => servers.len() <= 1,
                    // A connection seen only in the logs names its host instead of an address.
                    (_, None) => c.server == Endpoint::Host(e.host.to_string()),
                };
                if !serves {
                    continue;
                }
                JoinedBy::TimeWindow
            };
            // 131 without a matching port is a different connection from the same client.
            if e.provider == CORE && e.event_id == 131 {
                continue;
            }
            let distance = if ts < c.start {
                c.start.0 - ts.0
            } else if ts > c.end {
                ts.0 - c.end.0
            } else {
                0
            };
            if best.is_none_or(|(d, _, _)| distance < d) {
                best = Some((distance, ci, by));
            }
        }
        if let Some((_, ci, by)) = best {
            corr.joined[ci].push(Joined { event: ei, by, ts });
        }
    }
    // 5. The client's events of one attempt share an ActivityID: one joined brings the others.
    let mut by_activity: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (ei, e) in events.iter().enumerate().filter(|(_, e)| e.provider == CLIENT) {
        if let Some(a) = e.activity_id.as_deref() {
            by_activity.entry(a).or_default().push(ei);
        }
    }
    for ci in 0..corr.joined.len() {
        let mut same: Vec<usize> = corr.joined[ci]
            .iter()
            .filter(|j| events[j.event].provider == CLIENT)
            .filter_map(|j| events[j.event].activity_id.as_deref())
            .flat_map(|a| by_activity.get(a).into_iter().flatten().copied())
            .collect();
        same.sort_unstable();
        same.dedup();
        for ei in same {
            if !corr.joined[ci].iter().any(|j| j.event == ei) {
                let ts = corr.adjust(&events[ei]);
                corr.joined[ci].push(Joined { event: ei, by: JoinedBy::Activity, ts });
            }
        }
    }
    for j in &mut corr.joined {
        j.sort_by_key(|x| (x.ts, x.event));
    }
    corr
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::from_events;
    use crate::events::catalog::{CLIENT, SCHANNEL};

    const S: i64 = 1_000_000_000;

    /// A connection as the capture would give it (it has TCP facts, so it measures the clock).
    fn conn(client: &str, start_s: i64) -> Connection {
        let addr = |s: &str| Endpoint::Addr(s.parse().expect("address"));
        let mut c = from_events(
            addr(client),
            addr("10.0.0.9:3389"),
            Ts(start_s * S),
            Ts(start_s * S + S / 2),
            "cap.pcap".into(),
        );
        c.tcp = Some(crate::connection::TcpFacts::default());
        c
    }

    fn event(provider: &str, id: u16, at_ms: i64, fields: &[(&str, &str)]) -> TypedEvent {
        crate::events::catalog::typed_for_test(provider, id, Ts(at_ms * 1_000_000), fields)
    }

    #[test]
    fn skew_from_exact_pairs_and_window_join_after_adjustment() {
        // Three connections at 100 s, 110 s, 120 s; the server clock runs 47 s ahead.
        let conns = vec![conn("10.0.0.5:50001", 100), conn("10.0.0.5:50002", 110), conn("10.0.0.5:50003", 120)];
        let mut events = Vec::new();
        for (i, port) in [50001, 50002, 50003].iter().enumerate() {
            let t = (100 + 10 * i as i64 + 47) * 1000 + 5;
            events.push(event(CORE, 131, t, &[("ClientIP", &format!("10.0.0.5:{port}")), ("ConnType", "TCP")]));
        }
        // A keyless Schannel error 0.2 s into the second connection, on the server's clock.
        events.push(event(SCHANNEL, 36870, (110 + 47) * 1000 + 200, &[("Type", "server")]));
        let c = correlate(&conns, &events, None);
        let s = &c.skews[0];
        assert_eq!(s.source, "RDSH01");
        assert!((s.offset_seconds - 47.005).abs() < 0.001, "{s:?}");
        assert_eq!((s.confidence, s.pairs), ("high", 3));
        assert!(c.joined[0].iter().any(|j| j.event == 0 && j.by == JoinedBy::ClientPort));
        assert!(c.joined[1].iter().any(|j| j.event == 3 && j.by == JoinedBy::TimeWindow));
        assert!(!c.joined[0].iter().any(|j| j.event == 3) && !c.joined[2].iter().any(|j| j.event == 3));
        // A 131 about another client port never joins by time.
        assert!(!c.joined[1].iter().any(|j| j.event == 0));
        // --skew overrides the estimate.
        let forced = correlate(&conns, &events, Some(0.0));
        assert_eq!((forced.skews[0].offset_seconds, forced.skews[0].confidence), (0.0, "high"));
        assert!(forced.joined[1].iter().all(|j| j.event != 3), "without the offset the Schannel event is 47 s away");
    }

    #[test]
    fn client_activity_id_brings_the_whole_attempt() {
        let conns = vec![conn("10.0.0.5:50001", 100)];
        let mut connect = event(CLIENT, 1024, 99_900, &[("Name", "Server Name"), ("Value", "rdsh01")]);
        let mut disconnect = event(CLIENT, 1026, 130_000, &[("Name", "Disconnect Reason"), ("Value", "2308")]);
        connect.activity_id = Some("{aaaa}".into());
        disconnect.activity_id = Some("{aaaa}".into());
        connect.host = "WS041".into();
        disconnect.host = "WS041".into();
        // 1024 falls in the window; 1026, 30 s later, is outside it but shares the ActivityID.
        let c = correlate(&conns, &[connect, disconnect], None);
        assert_eq!(
            c.joined[0].iter().map(|j| (j.event, j.by)).collect::<Vec<_>>(),
            vec![(0, JoinedBy::TimeWindow), (1, JoinedBy::Activity)]
        );
    }

    /// Seen at two capture points through a NAT: the server's 131 names the client as the
    /// server's point saw it (198.51.100.7:61501, the view's address), and still joins exactly.
    #[test]
    fn a_server_event_joins_by_the_address_the_server_point_saw() {
        let mut c = conn("10.20.30.41:51501", 100);
        let mut view = crate::twopoint::View::of(&c, crate::twopoint::Point::Server, 0);
        view.client = Endpoint::Addr("198.51.100.7:61501".parse().expect("address"));
        c.views = vec![crate::twopoint::View::of(&c, crate::twopoint::Point::Client, 0), view];
        let events = vec![event(CORE, 131, 100_002, &[("ClientIP", "198.51.100.7:61501"), ("ConnType", "TCP")])];
        let j = correlate(&[c], &events, None);
        assert_eq!(j.joined[0].iter().map(|j| (j.event, j.by)).collect::<Vec<_>>(), vec![(0, JoinedBy::ClientPort)]);
    }

    #[test]
    fn no_pairs_means_low_confidence_zero_offset() {
        let conns = vec![conn("10.0.0.5:50001", 100)];
        let events = vec![event(SCHANNEL, 36870, 100_200, &[])];
        let c = correlate(&conns, &events, None);
        assert_eq!((c.skews[0].offset_seconds, c.skews[0].confidence, c.skews[0].pairs), (0.0, "low", 0));
        assert_eq!(c.joined[0].len(), 1);
    }
}
