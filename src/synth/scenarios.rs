//! Bundled scenario samples: one folder per failure signature under `samples/`, generated
//! deterministically by `rdplog samples --out DIR`.
//!
//! Each folder holds what an analyst would collect for one case: a packet capture taken on the
//! client (the failing attempts, the client retrying, unrelated background traffic, sometimes
//! the analyst's own session), the event logs of the session host (`rdsh01/`) and of the
//! client (`ws041/`) written by our evtx writer (the relevant events at times that follow the
//! packets of the same attempt, among unrelated background events), and `expected.json` with
//! the verdict a correct analysis reaches and why. Every cause of DESIGN.md's vocabulary has a folder, and a few hard cases
//! combine causes, disagree or start too late.
//!
//! The builders live in `kit` (hosts, connection sequence, event sequences of one attempt),
//! `early` (failures before a session), `late` (the path, authentication, after
//! authentication, healthy sessions) and `hard`; the logs' vocabulary in `scenario_logs`.
//! The captures of the original nine scenarios are byte-for-byte what they were before logs
//! were added. An exported log is at least one 64 KiB chunk, mostly empty, so to keep the
//! samples small only four folders (certificate, service-down, udp-blocked, none) carry plain
//! `.evtx` files; the others' logs are gzip-compressed (`.evtx.gz`, unpacked by content).

mod early;
mod hard;
mod kit;
mod late;
mod pktmon;
pub mod points;

pub use pktmon::host_firewall_pcapng;

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use kit::Case;

/// The verdict a correct analysis of a scenario reaches (`expected.json`).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Expected {
    /// The case-level cause (DESIGN.md vocabulary).
    pub cause: &'static str,
    /// `ip:port` of the failing connection's client, when one connection shows the failure.
    pub client: Option<&'static str>,
    /// `ip:port` of the server of that connection.
    pub server: Option<&'static str>,
    /// The phase that failed in that connection, when the capture shows it.
    pub phase: Option<&'static str>,
    /// Why this is the right verdict.
    pub note: &'static str,
}

/// One scenario: folder, capture file name, one-line description, the expected verdict.
pub struct Scenario {
    pub folder: &'static str,
    pub file: &'static str,
    pub about: &'static str,
    pub expected: Expected,
    /// Write the event logs gzip-compressed.
    gzip_logs: bool,
    build: fn() -> io::Result<Case>,
}

const SERVER: Option<&str> = Some("10.20.1.15:3389");

macro_rules! expect {
    ($cause:expr, $client:expr, $phase:expr, $note:expr) => {
        Expected {
            cause: $cause,
            client: $client,
            server: if $client.is_some() { SERVER } else { None },
            phase: $phase,
            note: $note,
        }
    };
}

#[rustfmt::skip]
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        folder: "certificate", file: "capture.pcapng", gzip_logs: false, build: early::certificate,
        about: "server resets every TLS ClientHello (no ServerHello): the RDP certificate's private key is unusable (Schannel 36870 0x8009030D per attempt, RCM 1057); client retries twice (1026 reason 2308); the analyst's own session and background traffic on a second interface",
        expected: expect!("certificate", Some("10.20.30.41:50611"), Some("tls"), "RST right after each ClientHello and Schannel 36870 (private key unusable) within milliseconds of it"),
    },
    Scenario {
        folder: "security-negotiation", file: "capture.pcap", gzip_logs: true, build: early::negotiation,
        about: "server answers the X.224 request with RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER (5): client offered only TLS (client 1026 reason 2825)",
        expected: expect!("security-negotiation", Some("10.20.30.41:52001"), Some("negotiation"), "the X.224 Connection Confirm carries RDP_NEG_FAILURE 5; client reason 2825"),
    },
    Scenario {
        folder: "tls-mismatch", file: "capture.pcap.gz", gzip_logs: true, build: early::tls_mismatch,
        about: "server sends a fatal protocol_version (70) alert to the ClientHello (Schannel 36874 + 36888 alert 70); gzip-compressed, Linux SLL2",
        expected: expect!("tls-mismatch", Some("10.20.30.41:53100"), Some("tls"), "plaintext fatal alert 70 from the server, Schannel 36874 and 36888 (70) at the same moment"),
    },
    Scenario {
        folder: "service-down", file: "capture.pcap", gzip_logs: false, build: early::service_down,
        about: "every SYN to 3389 is answered by RST: Remote Desktop Services was stopped 1.6 s earlier (SCM 7036 with key TermService/1); no RdpCoreTS 131; client reason 516; nanosecond pcap, big-endian",
        expected: expect!("service-down", Some("10.20.30.41:54001"), Some("tcp"), "RST to every SYN and SCM 7036 TermService stopped just before; the server never logged a connection"),
    },
    Scenario {
        folder: "firewall-block", file: "capture.pcap", gzip_logs: true, build: early::firewall_block,
        about: "SYNs to 3389 never answered (3 retransmissions, 1-2-4 s back-off) and WFP 5157 logs each one as blocked; client reason 516; 802.1Q VLAN",
        expected: expect!("firewall-block", Some("10.20.30.41:55001"), Some("tcp"), "unanswered SYNs, each matched by a WFP 5157 block for the same client port"),
    },
    Scenario {
        folder: "mtu-blackhole", file: "capture.pcap", gzip_logs: true, build: late::mtu_blackhole,
        about: "the server's certificate flight (MSS-sized) is retransmitted and never acknowledged; ICMP fragmentation-needed with next-hop MTU 1400; RdpCoreTS 143/226 (0x80070040) when the server gives up",
        expected: expect!("mtu-blackhole", Some("10.20.30.41:56001"), Some("tls"), "full-size segment retransmitted with back-off, never acknowledged, and an ICMP fragmentation-needed (MTU 1400)"),
    },
    Scenario {
        folder: "middlebox-reset", file: "capture.pcap", gzip_logs: true, build: late::middlebox_reset,
        about: "after TLS, a RST claiming to be from the server arrives with TTL 250 while the server's packets have TTL 128; the server logs only a failed read (RdpCoreTS 142), no close of its own; IPv6",
        expected: expect!("middlebox-reset", Some("[2001:db8:10::41]:57001"), Some("nla"), "RST with a TTL the server never uses; the server only saw its read fail"),
    },
    Scenario {
        folder: "udp-blocked", file: "capture.pcap", gzip_logs: false, build: late::udp_blocked,
        about: "healthy TCP session, but five RDP-UDP SYNs on UDP 3389 are never answered (RdpCoreTS 130 then 136, client 1102 then 1104): the session stays on TCP",
        expected: Expected { cause: "udp-blocked", client: Some("10.20.30.41:58002"), server: SERVER, phase: Some("udp"), note: "RDP-UDP SYNs unanswered, client 1104 and RdpCoreTS 136; the TCP session itself works" },
    },
    Scenario {
        folder: "none", file: "capture.pcap", gzip_logs: false, build: late::healthy,
        about: "healthy connection: NLA, session data both ways, orderly close by the client (RdpCoreTS 131, RCM 1149, 4624 type 10, LSM 21/22, client 1024/1025/1027)",
        expected: expect!("none", Some("10.20.30.41:59001"), None, "every phase completed; the logon events confirm the session"),
    },
    Scenario {
        folder: "nla-auth", file: "capture.pcap", gzip_logs: true, build: late::nla_auth,
        about: "wrong password twice: TLS completes, two CredSSP records from the client, the server answers and closes (4625 0xC000006D/0xC000006A type 3, RdpCoreTS 140, client 1026 reason 2055); the server's clock is 47 s ahead",
        expected: expect!("nla-auth", Some("10.20.30.41:50811"), Some("nla"), "server closes during the short CredSSP exchange; 4625 for the same client port says wrong password; the server clock runs 47 s ahead"),
    },
    Scenario {
        folder: "server-denied", file: "capture.pcap", gzip_logs: true, build: late::server_denied,
        about: "logons disabled: NLA completes (RCM 1149, 4624 type 3), the server closes after the Client Info (RCM 1071, not accepting connections); client reason 2308; two attempts",
        expected: expect!("server-denied", Some("10.20.30.41:50901"), Some("session"), "NLA completed, then the server closed before the session; RCM 1071 at that moment"),
    },
    Scenario {
        folder: "licensing", file: "capture.pcap", gzip_logs: true, build: late::licensing,
        about: "RD licensing grace period expired: NLA completes, a short licensing exchange, the server closes (RCM 1069 in the Admin log); client reason 2056",
        expected: expect!("licensing", Some("10.20.30.41:51001"), Some("session"), "the server closed after the licensing exchange; RCM 1069 (grace period expired)"),
    },
    Scenario {
        folder: "network-loss", file: "capture.pcap", gzip_logs: true, build: late::network_loss,
        about: "a working session whose path dies: the client's next 300-byte segment is retransmitted 5 times (0.3 s RTO doubling) and the client resets; no ICMP; RdpCoreTS 143/142/226 with 0x80070040, LSM 24/40",
        expected: expect!("network-loss", Some("10.20.30.41:51101"), None, "the session was up (no phase failed); a small segment retransmitted with back-off until the client gave up, no ICMP, and the server's own writes failed with 0x80070040: loss, not an MTU problem"),
    },
    Scenario {
        folder: "undetermined", file: "capture.pcap", gzip_logs: true, build: hard::undetermined,
        about: "capture only: handshake, negotiation, TLS and NLA complete, 30 s of ordinary encrypted traffic, then an orderly FIN from the server; nothing tells a logoff or idle limit from a failure",
        expected: expect!("undetermined", Some("10.20.30.41:51201"), None, "a server-side orderly close after a working session fits a logoff, an idle or session limit, an administrator or a server fault; without the logs nothing decides"),
    },
    Scenario {
        folder: "two-causes", file: "capture.pcap", gzip_logs: true, build: hard::two_causes,
        about: "a working session that falls back to TCP (RDP-UDP unanswered), then 40 s after it ended two new attempts reset after the ClientHello (Schannel 36870)",
        expected: expect!("certificate", Some("10.20.30.41:51311"), Some("tls"), "the failures the user reports are the later certificate resets; the UDP fallback only degraded an earlier working session"),
    },
    Scenario {
        folder: "disagreeing-evidence", file: "capture.pcap", gzip_logs: true, build: early::disagreeing_evidence,
        about: "packets: the server resets right after the ClientHello (a certificate signature); server logs: Schannel 36874 (no common cipher) + 36888 alert 40 at the same moment",
        expected: expect!("tls-mismatch", Some("10.20.30.41:57301"), Some("tls"), "a RST after the ClientHello fits any server-side TLS failure; Schannel 36874 + 36888 (40) name which: no common cipher suite (the RDP stack dropped the connection instead of sending the alert); certificate stays a competing explanation"),
    },
    Scenario {
        folder: "host-firewall", file: "capture.etl", gzip_logs: false, build: pktmon::host_firewall,
        about: "recorded on the session host with pktmon (an .etl, read directly): four SYNs from the client reach the server's NIC and its own tcpip.sys drops each (drop reason 1231, the firewall's accept inspection); an SMB exchange in the background; no logs",
        expected: expect!("firewall-block", Some("10.20.30.41:55101"), Some("tcp"), "pktmon shows the server's own stack dropping every SYN for a filter (1231): the host firewall, not the network; the same packets without pktmon's drops only show unanswered SYNs"),
    },
    Scenario {
        folder: "after-the-failure", file: "capture.pcap", gzip_logs: true, build: hard::after_the_failure,
        about: "the capture starts after the failure: it only holds a working retry, while the logs hold three earlier attempts with RdpCoreTS 131, Schannel 36870 and client 1026 2308, then a TermService restart and a new certificate (RCM 1056)",
        expected: expect!("certificate", Some("10.20.30.41:51401"), None, "the failed attempts exist only in the logs (131 + 36870 + 2308 for each); the capture's later retry worked after TermService made a new certificate"),
    },
    Scenario {
        folder: "two-points", file: "client.pcap", gzip_logs: false, build: points::loss,
        about: "captures at both ends at once (client.pcap, server.pcap), a NAT between them and the server's capture clock 2.437 s ahead: a working session whose path dies; the client's next segment is sent six times and, like its final RST, never reaches the server's capture point, while everything the server sent reached the client's",
        expected: Expected { cause: "network-loss", client: Some("10.20.30.41:51501"), server: Some("203.0.113.15:3389"), phase: None, note: "one connection seen at two points (matched through the NAT by its sequence numbers) counts once; 7 of the client's packets left its capture point and never reached the server's, none of the server's were lost: the loss sits between the two capture points" },
    },
];

/// Writes every scenario under `out`; returns the files written.
pub fn write_all(out: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for s in SCENARIOS {
        let dir = out.join(s.folder);
        std::fs::create_dir_all(&dir)?;
        let case = (s.build)()?;
        let mut written = vec![(s.file.to_string(), case.capture)];
        written.extend(case.more);
        if let Some(logs) = case.logs {
            written.extend(logs.files(s.gzip_logs)?);
        }
        written.push(("expected.json".to_string(), expected_json(&s.expected)?));
        for (name, bytes) in written {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, bytes)?;
            files.push(path);
        }
    }
    Ok(files)
}

/// `expected.json`: pretty-printed, fields in declaration order, trailing newline.
fn expected_json(e: &Expected) -> io::Result<Vec<u8>> {
    let mut text = serde_json::to_vec_pretty(e).map_err(io::Error::other)?;
    text.push(b'\n');
    Ok(text)
}
