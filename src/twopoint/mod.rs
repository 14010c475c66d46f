//! Two capture points, one connection: when the analyst captured at both ends at once (or at a
//! client and a server on either side of a NAT), the same TCP connection is rebuilt once per
//! capture. This stage pairs those records (`matching`), estimates the clock offset between the
//! capture hosts from the paired handshakes, keeps one record per connection with a typed
//! `View` of what each point saw, and compares the two views into `PathFacts` (`locate`): what
//! left one point and never reached the other, a RST one side received that the other never
//! sent, a SYN that never reached the server's point, ICMP seen at one point only.
//!
//! It runs after each capture's connections are built and before they are numbered and
//! diagnosed (`analyze`); it never reads packets, only the typed TCP facts of the records.
//! What the path facts mean for the verdict is the diagnosis's business (`diagnose::rules`).
//! Consecutive pieces of one capture are not this stage's concern (they are read as one
//! stream before); neither are two legs inside one capture file: records are paired only
//! across different capture inputs.

pub mod legs;
mod locate;
mod matching;

use std::collections::{BTreeMap, BTreeSet};

use crate::connection::Connection;
use crate::time::Ts;
use crate::vocab::{Endpoint, Transport};

pub use locate::locate;
pub use matching::{Pair, handshake_offset, nearer_client, pairs};

/// Which end of the path a capture point sits at, for one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// Nearer the client: it sees the client's packets first (higher TTL) and the full RTT.
    Client,
    /// Nearer the server.
    Server,
}

impl Point {
    pub fn as_str(self) -> &'static str {
        match self {
            Point::Client => "client",
            Point::Server => "server",
        }
    }
}

/// What one capture point saw of one direction of a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirView {
    /// Packets (frames the capture stored twice not counted).
    pub packets: u64,
    pub payload_bytes: u64,
    /// Data segments sent again (`TcpDir::retransmissions`).
    pub retransmissions: u32,
    /// SYN or SYN+ACK segments.
    pub syns: usize,
    pub rsts: u32,
    /// TTL (hop limit) of the first non-RST packet.
    pub ttl: Option<u8>,
}

impl DirView {
    fn of(d: &crate::flow::tcp::TcpDir) -> DirView {
        DirView {
            packets: d.packets,
            payload_bytes: d.payload_bytes,
            retransmissions: d.retransmissions,
            syns: d.syns.len(),
            rsts: d.rst_count,
            ttl: d.ttl_first,
        }
    }
}

/// One capture point's view of a connection.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// The capture input (as the inventory names it).
    pub input: String,
    pub point: Point,
    /// The addresses as seen at this point (NAT rewrites them between points).
    pub client: Endpoint,
    pub server: Endpoint,
    /// First and last packet, on this point's own clock.
    pub first: Ts,
    pub last: Ts,
    /// This point's clock minus the record's clock (the client point's), in nanoseconds; 0 for
    /// the record's own point.
    pub offset_ns: i64,
    pub client_to_server: DirView,
    pub server_to_client: DirView,
    /// ICMP errors about the connection seen here.
    pub icmp: usize,
}

impl View {
    /// The view of a record built from one capture.
    pub fn of(c: &Connection, point: Point, offset_ns: i64) -> View {
        let (c2s, s2c, icmp) = match &c.tcp {
            Some(t) => (DirView::of(&t.client_to_server), DirView::of(&t.server_to_client), t.icmp.len()),
            None => (DirView::default(), DirView::default(), 0),
        };
        View {
            input: c.input.clone(),
            point,
            client: c.client.clone(),
            server: c.server.clone(),
            first: c.start,
            last: c.end,
            offset_ns,
            client_to_server: c2s,
            server_to_client: s2c,
            icmp,
        }
    }
}

/// Where on the path the two views place a fault (typed facts the diagnosis reads).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PathFacts {
    /// The capture inputs nearer the client and nearer the server.
    pub client_point: String,
    pub server_point: String,
    /// Packets the client sent that its point saw and the server's point did not (`None` when
    /// the server's capture does not cover the connection's time, or the client point did not
    /// see the connection).
    pub lost_to_server: Option<u64>,
    /// Packets the server sent that its point saw and the client's point did not.
    pub lost_to_client: Option<u64>,
    /// A RST arrived at the client's point that the server's point never saw the server send.
    pub rst_not_sent_by_server: bool,
    /// A RST arrived at the server's point that the client's point never saw the client send.
    pub rst_not_sent_by_client: bool,
    /// The client's SYN left its point, and the server's point, capturing at that time, saw no
    /// such connection.
    pub syn_never_arrived: bool,
    /// ICMP errors about the connection reached only this point.
    pub icmp_only_at: Option<Point>,
}

/// Capture inputs and the time each covers (first and last packet, on its own clock).
pub type Spans = BTreeMap<String, (Ts, Ts)>;

/// Pairs the records of one connection seen at two capture points, keeps one record per
/// connection (the client point's) with both views and the path facts, and marks an unpaired
/// unanswered SYN that another point, capturing at the time, should have seen. Connections
/// seen at one point only come back unchanged; without two capture inputs nothing changes.
pub fn merge(conns: Vec<Connection>, spans: &Spans) -> Vec<Connection> {
    if spans.len() < 2 {
        return conns;
    }
    let found = pairs(&conns);
    if found.is_empty() && !conns.iter().any(unanswered) {
        return conns;
    }
    let offsets = matching::offsets(&conns, &found);
    // Which inputs saw which server address answer from close by (a point at that server).
    let servers: BTreeSet<(String, String)> =
        conns.iter().filter(|c| at_server(c)).map(|c| (c.input.clone(), c.server.to_string())).collect();
    let mut slots: Vec<Option<Connection>> = conns.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(slots.len());
    for p in &found {
        let (Some(a), Some(b)) = (slots[p.a].take(), slots[p.b].take()) else { continue };
        out.push(join(a, b, &offsets, spans));
    }
    let server_points: BTreeSet<String> =
        out.iter().flat_map(|c| &c.views).filter(|v| v.point == Point::Server).map(|v| v.input.clone()).collect();
    let known = Known { spans, offsets: &offsets, servers: &servers, server_points: &server_points };
    out.extend(slots.into_iter().flatten().map(|c| if unanswered(&c) { syn_check(c, &known) } else { c }));
    out
}

/// `a` and `b` as one record: the client point's, with both views and the path facts.
fn join(a: Connection, b: Connection, offsets: &matching::Offsets, spans: &Spans) -> Connection {
    let (mut near, far) = if nearer_client(&a, &b) { (a, b) } else { (b, a) };
    let offset = offsets.get(&(near.input.clone(), far.input.clone())).copied().unwrap_or(0);
    let client_view = View::of(&near, Point::Client, 0);
    let server_view = View::of(&far, Point::Server, offset);
    let covers = |input: &str, first: Ts, last: Ts, off: i64| {
        spans.get(input).is_some_and(|(s, e)| s.0 <= first.0.saturating_add(off) && e.0 >= last.0.saturating_add(off))
    };
    let server_covers = covers(&far.input, near.start, near.end, offset);
    let client_covers = covers(&near.input, far.start, far.end, -offset);
    near.path = Some(locate(&client_view, &server_view, client_covers, server_covers));
    near.start = near.start.min(Ts(far.start.0.saturating_sub(offset)));
    near.end = near.end.max(Ts(far.end.0.saturating_sub(offset)));
    near.views = vec![client_view, server_view];
    near
}

/// Captured at the server's own host or segment: the server's packets still carry an initial
/// TTL (64, 128 or 255: no router has decremented them, RFC 791 §3.2).
fn at_server(c: &Connection) -> bool {
    c.tcp.as_ref().and_then(|t| t.server_to_client.ttl_first).is_some_and(|ttl| matches!(ttl, 64 | 128 | 255))
}

/// A TCP connection whose client's SYN was never answered at this point.
fn unanswered(c: &Connection) -> bool {
    c.transport == Transport::Tcp && c.phases.tcp == crate::connection::Phase::Unanswered
}

/// What `syn_check` knows about the capture points.
struct Known<'a> {
    spans: &'a Spans,
    offsets: &'a matching::Offsets,
    /// (input, server address) of the records captured at the server (`at_server`).
    servers: &'a BTreeSet<(String, String)>,
    /// Inputs that were the server's point of a paired connection.
    server_points: &'a BTreeSet<String>,
}

/// An unanswered SYN at one point: when another capture point known to sit nearer this server
/// (it was the server's point of a paired connection, or it saw this server address answer
/// with an initial TTL) was capturing at the time and has no record of it, the SYN never
/// reached that point.
fn syn_check(mut c: Connection, k: &Known) -> Connection {
    let server = c.server.to_string();
    let other = k.spans.iter().find(|(input, (first, last))| {
        let off = k.offsets.get(&(c.input.clone(), (*input).clone())).copied().unwrap_or(0);
        **input != c.input
            && (k.server_points.contains(*input) || k.servers.contains(&((*input).clone(), server.clone())))
            && first.0 <= c.start.0.saturating_add(off)
            && last.0 >= c.end.0.saturating_add(off)
    });
    if let Some((input, _)) = other {
        c.path = Some(PathFacts {
            client_point: c.input.clone(),
            server_point: input.clone(),
            syn_never_arrived: true,
            ..PathFacts::default()
        });
        c.views = vec![View::of(&c, Point::Client, 0)];
    }
    c
}

#[cfg(test)]
mod tests;
