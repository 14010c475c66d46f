//! Diagnosis: from one connection's facts (packets, and the events joined to it) to a cause from
//! DESIGN.md's vocabulary, with a confidence, the client error code the pattern produces, the
//! evidence for and against, and the fix; then the case-level verdict.
//!
//! `facts` computes booleans from the connection record and its events (code computes facts);
//! `RULES` states each cause over those facts, one entry per cause, readable on its own: what it
//! needs, what the client sees, the fix, each fix step tied to the evidence it answers. Packet
//! evidence and event evidence each score on their own; together they combine
//! (1 − (1 − p)(1 − e)); strong evidence for another cause in the same connection lowers the
//! score and is shown.
//!
//! References: ../shared/knowledge/rdp-facts.md §1 (client codes), §2.4 (RDP_NEG_FAILURE),
//! §4 (events), §5 (TLS alerts), §6 (network signatures N1–N15); user-needs.md §1 (causes, fixes).

use serde::Serialize;

use crate::connection::{Connection, Phase};
use crate::correlate::Joined;
use crate::events::catalog::{CLIENT, CORE, LSASRV, LSM, RCM, SCHANNEL, SCM, SECURITY, TypedEvent};

/// Facts about one connection that the rules read. Nothing here parses bytes.
#[derive(Debug, Default)]
pub struct Facts<'a> {
    pub transport_udp: bool,
    pub tcp_refused: bool,
    pub tcp_unanswered: bool,
    pub icmp_admin: bool,
    pub icmp_mtu: Option<u32>,
    pub neg_failure: Option<u32>,
    /// ClientHello sent, no ServerHello, and the server closed the connection.
    pub reset_after_client_hello: bool,
    pub server_alert: Option<u8>,
    pub client_alert: Option<u8>,
    pub cert_expired: bool,
    pub nla_failed: bool,
    pub session_failed: bool,
    pub session_ok: bool,
    /// The server (or something claiming to be it) closed the connection.
    pub closed_by_server: bool,
    /// The largest segment was retransmitted and never acknowledged.
    pub big_segment_lost: bool,
    pub retransmissions: u32,
    pub closed_after_retransmissions: bool,
    pub rst_ttl_mismatch: bool,
    pub udp_failed: bool,
    pub failed_phase: Option<&'static str>,
    pub has_packets: bool,
    pub events: Vec<&'a TypedEvent>,
}

impl Facts<'_> {
    /// The first joined event of this provider with one of these ids.
    pub fn event(&self, provider: &str, ids: &[u16]) -> Option<&TypedEvent> {
        self.events.iter().copied().find(|e| e.provider == provider && ids.contains(&e.event_id))
    }

    fn field(&self, provider: &str, ids: &[u16], name: &str) -> Option<String> {
        self.event(provider, ids).and_then(|e| e.fields.get(name).cloned())
    }
}

/// Builds the facts of connection `i`.
pub fn facts<'a>(c: &Connection, joined: &[Joined], events: &'a [TypedEvent]) -> Facts<'a> {
    let p = &c.phases;
    let mut f = Facts {
        transport_udp: c.transport == "udp",
        tcp_refused: p.tcp == Phase::Refused,
        tcp_unanswered: p.tcp == Phase::Unanswered,
        failed_phase: c.failed_phase,
        has_packets: c.evidence.iter().any(|e| e.source == "packet"),
        session_ok: p.session == Phase::Ok,
        closed_by_server: c.teardown.by == "server" && matches!(c.teardown.how, "rst" | "fin"),
        nla_failed: p.nla == Phase::Failed,
        udp_failed: p.udp == Phase::Failed,
        neg_failure: c.negotiation.failure_code,
        rst_ttl_mismatch: c.teardown.rst_ttl_mismatch,
        events: joined.iter().filter_map(|j| events.get(j.event)).collect(),
        ..Default::default()
    };
    if let Some(t) = &c.tcp {
        f.icmp_admin = t.icmp.iter().any(|e| e.kind == "admin-prohibited");
        f.icmp_mtu = t.icmp.iter().find_map(|e| e.mtu);
        let (c2s, s2c) = (&t.client_to_server, &t.server_to_client);
        f.retransmissions = c2s.retransmissions + s2c.retransmissions;
        f.big_segment_lost =
            [c2s, s2c].iter().any(|d| d.max_segment >= 1000 && !d.max_segment_acked && d.retransmissions >= 2);
        f.closed_after_retransmissions = f.retransmissions >= 3 && matches!(c.teardown.how, "rst" | "fin");
    }
    if let Some(t) = &c.tls {
        let fatal = |sender: &str| {
            t.alerts
                .iter()
                .find(|a| a.sender == sender && !a.alert.encrypted && a.alert.level == 2)
                .map(|a| a.alert.description)
        };
        f.server_alert = fatal("server");
        f.client_alert = fatal("client");
        f.cert_expired = t.certificate_expired;
        f.reset_after_client_hello = t.client.client_hello.is_some()
            && t.server.server_hello.is_none()
            && c.teardown.by == "server"
            && matches!(c.teardown.how, "rst" | "fin");
    }
    f.session_failed = p.nla == Phase::Ok && p.session == Phase::Failed && c.teardown.by == "server";
    f
}

/// One cause's rule: packet evidence and event evidence, scored separately.
pub struct Rule {
    pub cause: &'static str,
    /// The client error this pattern produces (rdp-facts §1 and §6).
    pub client_code: &'static str,
    /// `error` explains a failure; `warning` degrades a session that otherwise works.
    pub severity: &'static str,
    /// The fix, each step saying which evidence it answers.
    pub fix: &'static [&'static str],
    /// (score, why) from the capture.
    pub packets: fn(&Facts) -> Option<(f64, String)>,
    /// (score, why) from the Windows events.
    pub events: fn(&Facts) -> Option<(f64, String)>,
}

/// SCM 7036 for TermService entering the stopped state. The binary data ("TermService/1",
/// 1 = SERVICE_STOPPED) is reliable where the state text is localized.
fn service_stopped(e: &TypedEvent) -> bool {
    match e.fields.get("Binary").map(|b| crate::events::catalog::utf16_hex_to_string(b)) {
        Some(key) => key.trim_end_matches('\0').ends_with("/1"),
        None => e.fields.get("param2").is_some_and(|s| s.eq_ignore_ascii_case("stopped")),
    }
}

fn ev(f: &Facts, provider: &str, ids: &[u16], score: f64) -> Option<(f64, String)> {
    f.event(provider, ids).map(|e| {
        (score, format!("{} {} ({}): {}", crate::timeline::short_provider(&e.provider), e.event_id, e.input, e.summary))
    })
}

#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    Rule {
        cause: "service-down",
        client_code: "0x204 (516, connect failed)",
        severity: "error",
        fix: &[
            "Start Remote Desktop Services and watch it stay up: `Restart-Service TermService -Force` (answers: RST to the SYN; SCM stopped/crashed events)",
            "If it keeps stopping, look at the SCM 7031/7034 recovery actions and the service's dependencies, and monitor TermService until the cause is fixed",
            "Check that RDP is enabled and something listens on 3389: `qwinsta` shows rdp-tcp Listen; `netstat -ano | findstr :3389`",
        ],
        packets: |f| f.tcp_refused.then(|| (0.6, "the server answered the SYN with RST: nothing listens on the RDP port".into())),
        events: |f| ev(f, SCM, &[7031, 7034, 7023, 7022, 7000, 7001, 7009, 7011, 7024], 0.8)
            .or_else(|| ev(f, LSM, &[16, 17, 18], 0.8))
            .or_else(|| f.event(SCM, &[7036]).filter(|e| service_stopped(e))
                .map(|e| (0.7, format!("SCM 7036 ({}): {}", e.input, e.summary)))),
    },
    Rule {
        cause: "firewall-block",
        client_code: "0x204 (516) or 0x108 (264, timed out)",
        severity: "error",
        fix: &[
            "Open TCP 3389 (and UDP 3389; TCP 443 for RD Gateway) on the host firewall, the NSG/cloud firewall and any network firewall in between (answers: SYN unanswered or ICMP administratively prohibited; WFP 5152/5157 drops)",
            "On the server: `Get-NetFirewallRule -DisplayGroup 'Remote Desktop' | Enable-NetFirewallRule`; on the client side allow mstsc.exe outbound",
            "Confirm from another client with `Test-NetConnection <server> -Port 3389`",
        ],
        packets: |f| {
            if f.icmp_admin { Some((0.8, "an ICMP 'administratively prohibited' answered the connection".into())) }
            else if f.tcp_unanswered { Some((0.6, "the SYN was retransmitted and never answered".into())) }
            else { None }
        },
        events: |f| ev(f, SECURITY, &[5152, 5157], 0.85),
    },
    Rule {
        cause: "security-negotiation",
        client_code: "0xB09 (2825) when NLA is required, else 0x904 (2308)",
        severity: "error",
        fix: &[
            "Make the client offer what the server requires: enable NLA/CredSSP on the client, or (if policy allows) relax the server: Group Policy Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Security: 'Require user authentication for remote connections by using Network Level Authentication' and 'Require use of specific security layer' (answers: RDP_NEG_FAILURE in the X.224 Connection Confirm)",
            "Align the listener's SecurityLayer and UserAuthentication values (HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp); run `gpupdate /force` after changing policy",
            "To confirm, temporarily disable 'Require NLA' on a test server and retry, then restore it",
        ],
        packets: |f| f.neg_failure.filter(|c| *c != 3).map(|c| (0.9, format!("the server refused the security negotiation: RDP_NEG_FAILURE {}", crate::rdp::codes::NegFailureCode(c)))),
        events: |f| ev(f, RCM, &[1050], 0.4),
    },
    Rule {
        cause: "certificate",
        client_code: "0x904 (2308), extended 0 or 7",
        severity: "error",
        fix: &[
            "Regenerate the RDP certificate: delete it from the 'Remote Desktop' certificate store (certlm.msc) and `Restart-Service TermService -Force`; Windows creates a new self-signed one (answers: server reset after the ClientHello; Schannel 36870/36871; RCM 1057/1058)",
            "Repair the private key permissions: C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys must allow SYSTEM and NETWORK SERVICE to read the RDP key (on Azure VMs, through Run command) (answers: Schannel 36870 0x8009030D)",
            "If a custom certificate is configured, check its expiry, the Server Authentication EKU and SSLCertificateSHA1Hash (answers: expired certificate in the TLS handshake; RCM 1053/1055/1065)",
        ],
        packets: |f| {
            if f.neg_failure == Some(3) { Some((0.85, "RDP_NEG_FAILURE SSL_CERT_NOT_ON_SERVER: the server has no usable certificate".into())) }
            else if f.cert_expired { Some((0.8, "the server certificate in the TLS handshake had expired".into())) }
            else if f.reset_after_client_hello { Some((0.6, "the server closed the connection right after the TLS ClientHello, without a ServerHello".into())) }
            else if f.server_alert == Some(80) { Some((0.4, "the server sent TLS alert internal_error (80)".into())) }
            else { None }
        },
        events: |f| ev(f, SCHANNEL, &[36870, 36871], 0.8).or_else(|| ev(f, RCM, &[1057, 1058, 1053, 1055, 1065, 1064], 0.75)),
    },
    Rule {
        cause: "tls-mismatch",
        client_code: "0x904 (2308)",
        severity: "error",
        fix: &[
            "Give both sides a common TLS version: enable TLS 1.2 on client and server (SCHANNEL\\Protocols registry keys; on 2008 R2 install KB3080079 first) (answers: TLS alert protocol_version 70; Schannel 36874/36888)",
            "Restore a common cipher suite: set the 'SSL Cipher Suite Order' policy to Not Configured or add a suite both sides support, then `gpupdate /force` and reboot (answers: TLS alert handshake_failure 40 / insufficient_security 71)",
            "Check FIPS policy on both ends",
        ],
        packets: |f| match f.server_alert.or(f.client_alert) {
            Some(a @ (40 | 70 | 71)) => Some((0.8, format!("fatal TLS alert {} ({a}): no common TLS version or cipher suite", crate::rdp::codes::TlsAlert(a)))),
            _ => None,
        },
        events: |f| ev(f, SCHANNEL, &[36874], 0.8).or_else(|| f.event(SCHANNEL, &[36888, 36887])
            .filter(|e| matches!(e.fields.get("AlertDesc").map(String::as_str), Some("40" | "70" | "71")))
            .map(|e| (0.75, format!("Schannel {} ({}): {}", e.event_id, e.input, e.summary)))),
    },
    Rule {
        cause: "nla-auth",
        client_code: "0x807 (2055, logon failure) or 0x904 (2308)",
        severity: "error",
        fix: &[
            "Check the account named in the Security 4625 event: Status/SubStatus say why (wrong password, locked out, expired, disabled) (answers: 4625; RdpCoreTS 140)",
            "If CredSSP itself fails (LsaSrv 6041), patch client and server so both have the CredSSP update (CVE-2018-0886); the client-side 'Encryption Oracle Remediation' policy is only a temporary workaround",
            "Make sure the server can reach a domain controller and its clock is in sync (`w32tm /query /status`); test once with a local account",
        ],
        packets: |f| f.nla_failed.then(|| (0.5, "TLS completed, then the server closed the connection during the short CredSSP (NLA) exchange".into())),
        events: |f| {
            let status = f.field(SECURITY, &[4625], "Status").unwrap_or_default().to_ascii_lowercase();
            if status.contains("c000015b") { return None; } // logon right missing: server-denied
            ev(f, SECURITY, &[4625], 0.85).or_else(|| ev(f, CORE, &[140], 0.85)).or_else(|| ev(f, LSASRV, &[6041], 0.8))
        },
    },
    Rule {
        cause: "server-denied",
        client_code: "0x904 (2308) with extended 7 (ServerDeniedConnection)",
        severity: "error",
        fix: &[
            "If the server is in drain mode or logons are disabled, allow connections again: `chglogon /enable` (answers: RCM 1070/1071)",
            "Grant the user 'Allow log on through Remote Desktop Services' (add to Remote Desktop Users) and run `gpupdate /force` (answers: 4625 0xC000015B)",
        ],
        packets: |f| f.session_failed.then(|| (0.4, "NLA completed, then the server closed the connection before the session started".into())),
        events: |f| ev(f, RCM, &[1070, 1071], 0.85).or_else(|| {
            let status = f.field(SECURITY, &[4625], "Status").unwrap_or_default().to_ascii_lowercase();
            status.contains("c000015b").then(|| (0.85, "Security 4625 with status 0xC000015B: logon type not granted".into()))
        }),
    },
    Rule {
        cause: "licensing",
        client_code: "0x904 (2308) with extended 256-267 (licensing)",
        severity: "error",
        fix: &[
            "Configure the RD licensing mode and a reachable license server, or renew the grace period; `mstsc /admin` connects meanwhile (answers: RCM 1068/1069)",
        ],
        packets: |f| f.session_failed.then(|| (0.2, "the server closed the connection after authentication".into())),
        events: |f| ev(f, RCM, &[1068, 1069], 0.85),
    },
    Rule {
        cause: "mtu-blackhole",
        client_code: "0x904 (2308) or 0x108 (264, timed out)",
        severity: "error",
        fix: &[
            "Find the path MTU: `ping -f -l 1472 <server>` and lower the size until it passes; fix the tunnel/VPN MTU or allow ICMP 'fragmentation needed' / 'packet too big' through the firewalls (answers: full-size segment retransmitted and never acknowledged; ICMP with the next-hop MTU)",
            "As a workaround, clamp the TCP MSS on the VPN/edge device or lower the interface MTU (`netsh interface ipv4 set subinterface <name> mtu=1400 store=persistent`)",
        ],
        packets: |f| {
            if let Some(m) = f.icmp_mtu { Some((0.85, format!("ICMP says a link on the path only carries {m}-byte packets"))) }
            else if f.big_segment_lost { Some((0.65, "a full-size segment was retransmitted with back-off and never acknowledged while smaller ones got through".into())) }
            else { None }
        },
        events: |f| ev(f, CORE, &[143], 0.3),
    },
    Rule {
        cause: "middlebox-reset",
        client_code: "0x904 (2308)",
        severity: "error",
        fix: &[
            "Find the device that injects the reset: the RST's TTL does not match the server's; check IPS/IDS, TLS inspection, load balancers and NAT timeouts on the path, and exempt RDP (answers: RST with a foreign TTL)",
        ],
        packets: |f| f.rst_ttl_mismatch.then(|| (0.75, "the RST's TTL does not match the other packets of the side it claims to come from: a device on the path sent it".into())),
        events: |f| ev(f, CORE, &[142], 0.3),
    },
    Rule {
        cause: "network-loss",
        client_code: "0x904 (2308) or 0x404 (1028, receive failed)",
        severity: "error",
        fix: &[
            "Find where packets are lost: capture at both ends at the same time (`pktmon start --capture --comp nics -f rdp.etl` on the server), compare, and check link errors on the path (answers: retransmissions with back-off before the close; RdpCoreTS 142/143/226 0x80070040)",
        ],
        packets: |f| (f.closed_after_retransmissions && !f.big_segment_lost && f.icmp_mtu.is_none())
            .then(|| (0.55, format!("{} retransmissions with back-off before the connection was torn down", f.retransmissions))),
        events: |f| ev(f, CORE, &[142, 143], 0.5).or_else(|| f.event(CORE, &[226, 228]).filter(|e| e.fields.values().any(|v| v.to_ascii_lowercase().contains("80070040")))
            .map(|e| (0.5, format!("RdpCoreTS {} ({}): {}", e.event_id, e.input, e.summary)))),
    },
    Rule {
        cause: "udp-blocked",
        client_code: "none by itself (the session falls back to TCP)",
        severity: "warning",
        fix: &[
            "Allow UDP 3389 end to end (host firewall, NSG, network firewalls) so RDP-UDP can carry the session (answers: RDP-UDP SYNs never answered; client 1104, RdpCoreTS 136)",
            "Or force TCP: Group Policy 'Turn off UDP on Client' (Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Connection Client) and `gpupdate /force`",
        ],
        packets: |f| (f.udp_failed || (f.transport_udp && f.failed_phase == Some("udp"))).then(|| (0.7, "RDP-UDP SYNs to UDP 3389 were never answered".into())),
        events: |f| ev(f, CLIENT, &[1104], 0.7).or_else(|| ev(f, CORE, &[136], 0.7)),
    },
    Rule {
        cause: "none",
        client_code: "none",
        severity: "info",
        fix: &[],
        // A session the server ended is not proof of health: that needs the client to close it,
        // or the capture to end with it open.
        packets: |f| (f.session_ok && f.failed_phase.is_none() && !f.closed_by_server)
            .then(|| (0.8, "every phase completed and the server served the session".into())),
        // For a connection seen only in the logs: a session logon is the sign it worked.
        events: |f| if f.has_packets { None } else {
            ev(f, LSM, &[21, 22, 25], 0.7).or_else(|| f.events.iter().find(|e| e.provider == SECURITY && e.event_id == 4624
                    && e.fields.get("LogonType").is_some_and(|t| t == "10"))
                .map(|e| (0.7, format!("Security 4624 ({}): {}", e.input, e.summary))))
        },
    },
];

/// A cause considered for a connection, with its score and the evidence behind it.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    pub cause: &'static str,
    pub confidence: f64,
    pub evidence: Vec<String>,
}

/// The verdict on one connection (DESIGN.md JSON `connections[].verdict`).
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub cause: &'static str,
    pub confidence: f64,
    /// `error`, `warning` (degraded, e.g. UDP fell back to TCP) or `info`.
    pub severity: &'static str,
    pub summary: String,
    pub client_code: &'static str,
    pub fix: Vec<String>,
    /// Evidence for the cause.
    #[serde(rename = "for")]
    pub evidence_for: Vec<String>,
    /// Evidence that points elsewhere.
    pub against: Vec<String>,
    /// The other causes considered, best first.
    pub competing: Vec<Candidate>,
    /// For `undetermined`: what to collect next, with the commands.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collect: Vec<String>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Scores every rule on the facts and picks the cause.
pub fn diagnose(f: &Facts, have: &Inputs) -> Verdict {
    let mut cands: Vec<(usize, Candidate)> = Vec::new();
    for (i, r) in RULES.iter().enumerate() {
        let (p, e) = ((r.packets)(f), (r.events)(f));
        if p.is_none() && e.is_none() {
            continue;
        }
        let (ps, es) = (p.as_ref().map_or(0.0, |x| x.0), e.as_ref().map_or(0.0, |x| x.0));
        let confidence = 1.0 - (1.0 - ps) * (1.0 - es);
        let evidence = p.into_iter().chain(e).map(|(_, why)| why).collect();
        cands.push((i, Candidate { cause: r.cause, confidence, evidence }));
    }
    // Errors outrank warnings; then the score; then the order of RULES.
    let severity = |i: usize| if RULES[i].severity == "error" { 0 } else { 1 };
    cands.sort_by(|(ia, a), (ib, b)| {
        severity(*ia).cmp(&severity(*ib)).then(b.confidence.total_cmp(&a.confidence)).then(ia.cmp(ib))
    });
    let Some((best_i, best)) = cands.first().cloned() else {
        return undetermined(f, have);
    };
    let rule = &RULES[best_i];
    let mut confidence = best.confidence;
    let mut against = Vec::new();
    for (i, other) in cands.iter().skip(1) {
        if RULES[*i].severity == "error" && other.confidence >= 0.7 && rule.cause != "none" {
            confidence -= 0.15;
            against.push(format!("also fits {} ({:.2}): {}", other.cause, other.confidence, other.evidence.join("; ")));
        }
    }
    if rule.cause != "none" && best.evidence.len() == 1 && f.has_packets && f.events.is_empty() {
        against.push("no Windows event confirms this: add the server's logs to raise confidence".into());
    }
    let summary = match rule.cause {
        "none" => "the connection worked".to_string(),
        _ => format!("{}: {}", rule.cause, best.evidence.first().cloned().unwrap_or_default()),
    };
    Verdict {
        cause: rule.cause,
        confidence: round2(confidence.clamp(0.05, 0.99)),
        severity: rule.severity,
        summary,
        client_code: rule.client_code,
        fix: rule.fix.iter().map(|s| s.to_string()).collect(),
        evidence_for: best.evidence,
        against,
        competing: cands
            .into_iter()
            .skip(1)
            .map(|(_, mut c)| {
                c.confidence = round2(c.confidence);
                c
            })
            .collect(),
        collect: Vec::new(),
    }
}

/// What kinds of input the case has (for "what to collect next").
#[derive(Clone, Copy, Debug, Default)]
pub struct Inputs {
    pub capture: bool,
    pub server_logs: bool,
    pub client_logs: bool,
}

/// The commands that would collect what is missing.
pub fn collect_next(have: &Inputs) -> Vec<String> {
    let mut out = Vec::new();
    if !have.capture {
        out.push("a packet capture on the server while the client reproduces the failure: `pktmon start --capture --comp nics --pkt-size 0 -f rdp.etl`, reproduce, `pktmon stop`, then `pktmon etl2pcap rdp.etl --out rdp.pcapng` (or `netsh trace start capture=yes tracefile=rdp.etl`)".into());
    }
    if !have.server_logs {
        out.push("the server's event logs: `wevtutil epl System System.evtx`, `wevtutil epl Security Security.evtx`, `wevtutil epl Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational RdpCoreTS.evtx`, `wevtutil epl Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational RCM.evtx`, `wevtutil epl Microsoft-Windows-TerminalServices-LocalSessionManager/Operational LSM.evtx`".into());
    }
    if !have.client_logs {
        out.push("the client's log: `wevtutil epl Microsoft-Windows-TerminalServices-RDPClient/Operational RDPClient.evtx` (its 1026 event has the disconnect code)".into());
    }
    if out.is_empty() {
        out.push("a capture taken on the other end of the path (client and server at the same time) to see which side drops the traffic".into());
    }
    out
}

fn undetermined(f: &Facts, have: &Inputs) -> Verdict {
    let summary = match (f.failed_phase, f.closed_by_server) {
        (Some(p), _) => format!("the {p} phase failed, but the evidence does not name a cause"),
        (None, true) => {
            "the server ended the connection; nothing in the evidence says whether that was a logoff or a failure"
                .into()
        }
        (None, false) => "the evidence does not name a cause".into(),
    };
    Verdict {
        cause: "undetermined",
        confidence: 0.2,
        // A failed phase is a failure; a session the server ended without explanation is a doubt;
        // a connection with nothing to go on (e.g. only a "connection accepted" event) is neither.
        severity: if f.failed_phase.is_some() {
            "error"
        } else if f.closed_by_server {
            "warning"
        } else {
            "info"
        },
        summary,
        client_code: "unknown",
        fix: Vec::new(),
        evidence_for: Vec::new(),
        against: Vec::new(),
        competing: Vec::new(),
        collect: collect_next(have),
    }
}

/// The case-level verdict (DESIGN.md JSON `diagnosis`).
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    pub cause: &'static str,
    pub confidence: f64,
    pub summary: String,
    /// The representative connection (the best-supported failing attempt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    pub client_code: &'static str,
    /// How many attempts share the cause, out of how many failed.
    pub attempts: usize,
    pub failed_attempts: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collect: Vec<String>,
}

/// Picks the failure the analyst is asking about: causes weighted by how many failing attempts
/// share them and by confidence; healthy connections (the operator's own session) never count.
pub fn case_level(verdicts: &[(String, Verdict)], have: &Inputs) -> Diagnosis {
    let failing: Vec<&(String, Verdict)> = verdicts.iter().filter(|(_, v)| v.severity == "error").collect();
    let mut weights: Vec<(&'static str, f64, usize)> = Vec::new();
    for (_, v) in failing.iter().filter(|(_, v)| v.cause != "undetermined") {
        match weights.iter_mut().find(|w| w.0 == v.cause) {
            Some(w) => {
                w.1 += v.confidence;
                w.2 += 1;
            }
            None => weights.push((v.cause, v.confidence, 1)),
        }
    }
    weights.sort_by(|a, b| b.1.total_cmp(&a.1));
    let best = weights.first().and_then(|&(cause, _, n)| {
        let rep = failing
            .iter()
            .filter(|(_, v)| v.cause == cause)
            .max_by(|a, b| a.1.confidence.total_cmp(&b.1.confidence))?;
        Some((n, rep))
    });
    if let Some((n, (id, v))) = best {
        return Diagnosis {
            cause: v.cause,
            confidence: v.confidence,
            summary: format!("{} ({} of {} failed attempt(s))", v.summary, n, failing.len()),
            connection: Some(id.clone()),
            client_code: v.client_code,
            attempts: n,
            failed_attempts: failing.len(),
            collect: Vec::new(),
        };
    }
    if !failing.is_empty() {
        return Diagnosis {
            cause: "undetermined",
            confidence: 0.2,
            summary: format!("{} attempt(s) failed but the evidence does not name a cause", failing.len()),
            connection: failing.first().map(|(id, _)| id.clone()),
            client_code: "unknown",
            attempts: 0,
            failed_attempts: failing.len(),
            collect: collect_next(have),
        };
    }
    if let Some((id, v)) = verdicts.iter().find(|(_, v)| v.cause == "undetermined" && v.severity == "warning") {
        return Diagnosis {
            cause: "undetermined",
            confidence: v.confidence,
            summary: format!("no connection failed outright, but: {}", v.summary),
            connection: Some(id.clone()),
            client_code: "unknown",
            attempts: 0,
            failed_attempts: 0,
            collect: collect_next(have),
        };
    }
    if let Some((id, v)) = verdicts.iter().find(|(_, v)| v.severity == "warning") {
        return Diagnosis {
            cause: v.cause,
            confidence: v.confidence,
            summary: format!("no failed connection; degraded: {}", v.summary),
            connection: Some(id.clone()),
            client_code: v.client_code,
            attempts: 1,
            failed_attempts: 0,
            collect: Vec::new(),
        };
    }
    let healthy = verdicts.iter().any(|(_, v)| v.cause == "none");
    Diagnosis {
        cause: if healthy { "none" } else { "undetermined" },
        confidence: if healthy { 0.8 } else { 0.1 },
        summary: if healthy {
            "no failed connection: every attempt completed".into()
        } else {
            "no RDP connection attempt found in the inputs".into()
        },
        connection: None,
        client_code: "none",
        attempts: 0,
        failed_attempts: 0,
        collect: if healthy { Vec::new() } else { collect_next(have) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::from_events;
    use crate::correlate::JoinedBy;
    use crate::time::Ts;

    fn typed(provider: &str, id: u16, fields: &[(&str, &str)]) -> TypedEvent {
        crate::events::catalog::typed_for_test(provider, id, Ts(0), fields)
    }

    fn joined(n: usize) -> Vec<Joined> {
        (0..n).map(|event| Joined { event, by: JoinedBy::TimeWindow, ts: Ts(0) }).collect()
    }

    fn refused() -> Connection {
        let mut c = from_events("10.0.0.5:50001".into(), "10.0.0.9:3389".into(), Ts(0), Ts(1), String::new());
        c.phases.tcp = Phase::Refused;
        c.failed_phase = Some("tcp");
        c.evidence.push(crate::connection::Evidence {
            time: Ts(0),
            source: "packet",
            reference: "frame 1".into(),
            text: "SYN".into(),
        });
        c
    }

    const ALL: Inputs = Inputs { capture: true, server_logs: true, client_logs: true };

    #[test]
    fn packets_and_events_combine() {
        let c = refused();
        let v = diagnose(&facts(&c, &[], &[]), &ALL);
        assert_eq!((v.cause, v.confidence), ("service-down", 0.6));
        assert!(v.against.iter().any(|a| a.contains("no Windows event")));
        let utf16: String =
            "TermService/1".encode_utf16().flat_map(u16::to_le_bytes).map(|b| format!("{b:02x}")).collect();
        let events =
            vec![typed(SCM, 7036, &[("param1", "Remote Desktop Services"), ("param2", "stopped"), ("Binary", &utf16)])];
        let v = diagnose(&facts(&c, &joined(1), &events), &ALL);
        // 1 − (1 − 0.6)(1 − 0.7) = 0.88
        assert_eq!((v.cause, v.confidence), ("service-down", 0.88));
        assert_eq!(v.evidence_for.len(), 2);
    }

    #[test]
    fn strong_competing_evidence_lowers_confidence_and_is_shown() {
        let mut c = refused();
        c.phases.tcp = Phase::Ok;
        c.failed_phase = Some("tls");
        let events =
            vec![typed(SCHANNEL, 36870, &[("Type", "server")]), typed(SCHANNEL, 36874, &[("Protocol", "TLS 1.0")])];
        let v = diagnose(&facts(&c, &joined(2), &events), &ALL);
        assert_eq!(v.cause, "certificate");
        assert_eq!(v.confidence, 0.65); // 0.8 − 0.15 for the competing tls-mismatch evidence
        assert!(v.against.iter().any(|a| a.contains("tls-mismatch")));
        assert_eq!(v.competing.first().map(|c| c.cause), Some("tls-mismatch"));
    }

    #[test]
    fn nothing_to_go_on_says_what_to_collect() {
        let mut c = refused();
        c.phases.tcp = Phase::Ok;
        c.failed_phase = Some("session");
        let v = diagnose(&facts(&c, &[], &[]), &Inputs { capture: true, ..Default::default() });
        assert_eq!(v.cause, "undetermined");
        assert!(v.collect.iter().any(|s| s.contains("wevtutil epl System")));
        assert!(v.collect.iter().any(|s| s.contains("RDPClient")));
        assert!(!v.collect.iter().any(|s| s.contains("pktmon")));
    }

    #[test]
    fn case_level_prefers_the_shared_failure_over_a_degraded_session() {
        let v = |cause, conf, sev| Verdict {
            cause,
            confidence: conf,
            severity: sev,
            summary: cause.into(),
            client_code: "x",
            fix: vec![],
            evidence_for: vec![],
            against: vec![],
            competing: vec![],
            collect: vec![],
        };
        let all = vec![
            ("C1".to_string(), v("none", 0.8, "info")),
            ("C2".to_string(), v("udp-blocked", 0.7, "warning")),
            ("C3".to_string(), v("certificate", 0.6, "error")),
            ("C4".to_string(), v("certificate", 0.9, "error")),
            ("C5".to_string(), v("network-loss", 0.95, "error")),
        ];
        let d = case_level(&all, &ALL);
        assert_eq!(
            (d.cause, d.connection.as_deref(), d.attempts, d.failed_attempts),
            ("certificate", Some("C4"), 2, 3)
        );
        let healthy = case_level(&all[..2], &ALL);
        assert_eq!(healthy.cause, "udp-blocked");
        assert_eq!(case_level(&all[..1], &ALL).cause, "none");
    }
}
