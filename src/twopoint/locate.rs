//! Compares the client point's and the server point's views of one connection into
//! `PathFacts`: the counts that place a loss, a reset or an ICMP error between the two points.
//!
//! A packet a side sent crosses its own point first and the far point later: what the near
//! point saw and the far point did not was lost between them (counts of packets, frames the
//! capture stored twice excluded, RFC 9293 segments each). A RST that the receiving side's point
//! saw and the sending side's point never saw come through was made between them. The counts
//! are only trusted when the far capture covers the connection's whole time.

use super::{PathFacts, Point, View};

/// The path facts of one connection from its two views; `client_covers` / `server_covers`: that
/// point's capture ran for the whole time the other point saw the connection.
pub fn locate(client: &View, server: &View, client_covers: bool, server_covers: bool) -> PathFacts {
    let (c2s_near, c2s_far) = (&client.client_to_server, &server.client_to_server);
    let (s2c_near, s2c_far) = (&server.server_to_client, &client.server_to_client);
    let icmp_only_at = match (client.icmp > 0, server.icmp > 0) {
        (true, false) => Some(Point::Client),
        (false, true) => Some(Point::Server),
        _ => None,
    };
    PathFacts {
        client_point: client.input.clone(),
        server_point: server.input.clone(),
        // RSTs made on the path are not the sender's packets: leave them out of the loss.
        lost_to_server: server_covers.then(|| {
            let injected = c2s_far.rsts.saturating_sub(c2s_near.rsts) as u64;
            (c2s_near.packets + injected).saturating_sub(c2s_far.packets)
        }),
        lost_to_client: client_covers.then(|| {
            let injected = s2c_far.rsts.saturating_sub(s2c_near.rsts) as u64;
            (s2c_near.packets + injected).saturating_sub(s2c_far.packets)
        }),
        rst_not_sent_by_server: client_covers && s2c_far.rsts > s2c_near.rsts,
        rst_not_sent_by_client: server_covers && c2s_far.rsts > c2s_near.rsts,
        syn_never_arrived: false,
        icmp_only_at,
    }
}

impl PathFacts {
    /// The stretch of path the facts point at, for people: "between the client's capture point
    /// (a.pcap) and the server's (b.pcap)", the captures named by their file names.
    pub fn segment(&self) -> String {
        let name = |p: &str| {
            std::path::Path::new(p).file_name().map_or_else(|| p.to_string(), |f| f.to_string_lossy().into_owned())
        };
        format!(
            "between the client's capture point ({}) and the server's ({})",
            name(&self.client_point),
            name(&self.server_point)
        )
    }

    /// Packets lost between the points, client's and server's, when both counts are known.
    pub fn losses(&self) -> Option<(u64, u64)> {
        self.lost_to_server.zip(self.lost_to_client)
    }

    /// A RST was made between the points.
    pub fn forged_rst(&self) -> bool {
        self.rst_not_sent_by_server || self.rst_not_sent_by_client
    }
}
