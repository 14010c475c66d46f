//! Two legs of one session inside one capture: a capture taken on a load balancer or NAT device
//! holds the client's connection to the virtual address and the device's connection to the
//! real server, the same bytes both ways with rewritten addresses and ports. They are linked
//! (each names the other), not merged: each leg is a connection of its own on the wire, and
//! what each shows (its addresses, its close) stays true of that leg.
//!
//! A pair must leave no doubt: both legs carry data both ways, the same packets and payload
//! bytes in each direction, the same client host (a load balancer that keeps the client's
//! address) or the same server port, starts and ends within `WINDOW_NS` of each other, and no
//! third record fits either leg. Connections of different captures are `matching`'s concern.

use crate::connection::Connection;
use crate::vocab::Transport;

/// How close the two legs' first and last packets must be.
const WINDOW_NS: i64 = 1_000_000_000;
/// Packets each way a leg needs before its counts can identify it (a scanner's connection has
/// a handful; equal counts then prove nothing).
const MIN_PACKETS: u64 = 20;

/// The identity of a leg: (packets, payload bytes) each way.
fn signature(c: &Connection) -> Option<[(u64, u64); 2]> {
    let t = c.tcp.as_ref().filter(|_| c.transport == Transport::Tcp)?;
    let (a, b) = (&t.client_to_server, &t.server_to_client);
    let busy = a.packets >= MIN_PACKETS && b.packets >= MIN_PACKETS && a.payload_bytes > 0 && b.payload_bytes > 0;
    busy.then_some([(a.packets, a.payload_bytes), (b.packets, b.payload_bytes)])
}

fn fits(x: &Connection, y: &Connection) -> bool {
    let near = |a: i64, b: i64| a.abs_diff(b) <= WINDOW_NS as u64;
    let related =
        x.client.ip() == y.client.ip() || x.server.addr().map(|a| a.port()) == y.server.addr().map(|a| a.port());
    x.input == y.input
        && x.client != y.client
        && related
        && near(x.start.0, y.start.0)
        && near(x.end.0, y.end.0)
        && signature(x).is_some_and(|s| Some(s) == signature(y))
}

/// Links the legs among numbered connections: each gets the other's id in `other_leg`.
pub fn link(conns: &mut [Connection]) {
    let n = conns.len();
    let mut links = Vec::new();
    for i in 0..n {
        if signature(&conns[i]).is_none() {
            continue;
        }
        let fit: Vec<usize> = (0..n).filter(|&j| j != i && fits(&conns[i], &conns[j])).collect();
        if let [j] = fit[..]
            && i < j
            && (0..n).filter(|&k| k != j && fits(&conns[j], &conns[k])).count() == 1
        {
            links.push((i, j));
        }
    }
    for (i, j) in links {
        conns[i].other_leg = Some(conns[j].id.clone());
        conns[j].other_leg = Some(conns[i].id.clone());
    }
}
