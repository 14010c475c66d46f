//! A scenario recorded on the session host itself with `pktmon start --capture`: the trace is
//! an `.etl` (written by `synth::etl_writer`), and it shows what no wire capture can, the
//! server's own stack dropping the client's SYNs.
//!
//! The same packets as the wire saw them are available as pcapng (`host_firewall_pcapng`), the
//! twin the tests compare the `.etl` with.

use std::io;

use super::kit::*;
use crate::synth::conversation::{Frame, Link, merge};
use crate::synth::etl_writer::{Hop, PktmonWriter};
use crate::synth::writer::{CaptureWriter, Interface};
use crate::time::Ts;

/// pktmon components of the trace: the Hyper-V NIC and the TCP/IP stack.
const NIC: u16 = 1;
const TCPIP: u16 = 2;
/// pktmon drop reason 1231: the transport layer's accept inspection (the Windows Filtering
/// Platform's ALE accept layer, where the host firewall's inbound rules decide) refused it.
const ACCEPT_INSPECTION: u32 = 1231;
/// The client port of the blocked attempt.
const PORT: u16 = 55_101;

/// The server's view: an SMB exchange with the file server and a DNS lookup in the
/// background, then jdoe's SYNs to 3389, each dropped by the server's own firewall (four
/// SYNs, 1-2-4 s back-off, never answered).
fn frames() -> io::Result<(Vec<Frame>, Vec<Frame>)> {
    let link = Link::Ethernet;
    let mut smb = conv(link, server(), 49_700, v4(10, 20, 1, 5, 128), 445, T0, 41);
    smb.handshake().client_send(&[0xfe; 180]).server_send(&[0xfe; 900]).fin_from_client();
    let mut c = rdp_conv(link, PORT, Ts(T0.0 + SEC), 4100);
    c.syn_unanswered(3);
    Ok((smb.frames(), c.frames()))
}

/// Whether an Ethernet frame's IPv4 destination is the session host.
fn to_server(f: &Frame) -> bool {
    f.data.get(30..34) == Some(&[10, 20, 1, 15][..])
}

/// The session host's pktmon trace of the case.
pub fn host_firewall() -> io::Result<Case> {
    let (background, attempt) = frames()?;
    let start = Ts(T0.0 - 100 * MS);
    let mut w = PktmonWriter::new(Vec::new(), start, &[(NIC, "netvsc.sys"), (TCPIP, "tcpip.sys")])?;
    let inbound = [Hop { component: NIC, drop: None }, Hop { component: TCPIP, drop: None }];
    let outbound = [Hop { component: TCPIP, drop: None }, Hop { component: NIC, drop: None }];
    let blocked = [Hop { component: NIC, drop: None }, Hop { component: TCPIP, drop: Some(ACCEPT_INSPECTION) }];
    for f in merge(vec![background, attempt.clone()]) {
        let ours = attempt.iter().any(|a| a.ts == f.ts && a.data == f.data);
        let inbound_packet = to_server(&f);
        let hops: &[Hop] = match (ours, inbound_packet) {
            (true, _) => &blocked,
            (false, true) => &inbound,
            (false, false) => &outbound,
        };
        w.packet(f.ts, Link::Ethernet.linktype(), &f.data, inbound_packet, hops)?;
    }
    Ok(Case { capture: w.finish()?, logs: None, more: Vec::new() })
}

/// The same packets as a pcapng (what `pktmon etl2pcap` would give, without the drops).
pub fn host_firewall_pcapng() -> io::Result<Vec<u8>> {
    let (background, attempt) = frames()?;
    let mut w =
        CaptureWriter::pcapng(Vec::new(), &[Interface { name: Some("netvsc.sys".into()), ..Interface::new(1) }])?;
    for f in merge(vec![background, attempt]) {
        w.packet(0, f.ts, &f.data)?;
    }
    Ok(w.into_inner())
}
