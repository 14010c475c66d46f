//! The rule table: one entry per cause of DESIGN.md's vocabulary, the only place that knows the
//! cause. Each entry holds the cause's title, severity, the client codes it produces, the packet
//! signatures that decide it (the report marks them), its fix steps each with the evidence kinds
//! they answer, its references, and two scorers over `Facts`: packets and events.
//!
//! References: ../shared/knowledge/rdp-facts.md §1 (client codes), §2.4 (RDP_NEG_FAILURE),
//! §4 (events), §5 (TLS alerts), §6 (network signatures N1–N15); user-needs.md §1 (causes,
//! fixes).

use super::facts::Facts;
use crate::events::catalog::{
    CLIENT, CORE, GATEWAY, LSASRV, LSM, RCM, SCHANNEL, SCM, SECURITY, ServiceState, TypedEvent,
};
use crate::evidence::Sig;
use crate::vocab::{Cause, Severity, Side};

/// The client-side codes a cause produces (rdp-facts §1.1, §1.2).
#[derive(Debug)]
pub struct ClientCode {
    /// As people read it, e.g. "0x904 (2308), extended 0 or 7".
    pub text: &'static str,
    /// mstsc DisconnectReason values.
    pub disconnect: &'static [u32],
    /// ExtendedDisconnectReason values.
    pub extended: &'static [u32],
}

/// Evidence a fix step answers: a wire signature or a Windows event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Wire(&'static str),
    Event(&'static str),
}

impl Answer {
    pub fn text(self) -> &'static str {
        match self {
            Answer::Wire(t) | Answer::Event(t) => t,
        }
    }
}

/// One fix step and the evidence it answers.
#[derive(Debug)]
pub struct Fix {
    pub step: &'static str,
    pub answers: &'static [Answer],
}

impl Fix {
    /// The step as the JSON and reports print it: "… (answers: a; b)".
    pub fn sentence(&self) -> String {
        if self.answers.is_empty() {
            return self.step.to_string();
        }
        let a: Vec<&str> = self.answers.iter().map(|a| a.text()).collect();
        format!("{} (answers: {})", self.step, a.join("; "))
    }
}

/// (score, why) from the capture.
pub type Score = Option<(f64, String)>;

/// What a rule found in the Windows events: the score, why, and the event it read.
pub struct Found {
    pub score: f64,
    pub why: String,
    /// The event's provider and id.
    pub event: (String, u16),
}

/// (score, why, event) from the Windows events.
pub type EventScore = Option<Found>;

fn found(e: &TypedEvent, score: f64, why: String) -> Found {
    Found { score, why, event: (e.provider.clone(), e.event_id) }
}

/// One cause's rule.
pub struct Rule {
    pub cause: Cause,
    /// Our words for the cause, in the report's headline.
    pub title: &'static str,
    /// `Error` explains a failure; `Warning` degrades a session; `Info` is neither.
    pub severity: Severity,
    pub client_code: ClientCode,
    /// Packet evidence that shows the cause, most telling first, with the side it must come
    /// from when that matters.
    pub decisive: &'static [(Sig, Option<Side>)],
    pub fix: &'static [Fix],
    /// Where the facts behind the rule are written down.
    pub references: &'static [&'static str],
    pub packets: fn(&Facts) -> Score,
    pub events: fn(&Facts) -> EventScore,
}

/// The rule of a cause (`Undetermined` has none: it is what remains).
pub fn rule(cause: Cause) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.cause == cause)
}

/// Our words for a cause.
pub fn title(cause: Cause) -> &'static str {
    rule(cause).map_or("the evidence does not name a cause", |r| r.title)
}

/// A joined event of `provider` with one of `ids`, with its sentence as the reason.
fn ev(f: &Facts, provider: &str, ids: &[u16], score: f64) -> EventScore {
    f.event(provider, ids).map(|e| found(e, score, said(e)))
}

/// A 4625 that refuses the logon by policy, not by credentials: 0xC000015B (the logon right
/// is missing) or 0xC000006E with no sub-status (an account restriction).
fn denied(e: &TypedEvent) -> bool {
    e.facts.logon_right_missing() || (e.facts.status == Some(0xC000_006E) && e.facts.sub_status.is_none_or(|s| s == 0))
}

fn said(e: &TypedEvent) -> String {
    format!("{} {} ({}): {}", crate::timeline::short_provider(&e.provider), e.event_id, e.input, e.summary)
}

const NONE: ClientCode = ClientCode { text: "none", disconnect: &[], extended: &[] };
/// The client code of an `undetermined` verdict.
pub static UNKNOWN: ClientCode = ClientCode { text: "unknown", disconnect: &[], extended: &[] };

pub fn ser_client_code<S: serde::Serializer>(c: &&ClientCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.text)
}

pub fn ser_fix<S: serde::Serializer>(fix: &&[Fix], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(fix.iter().map(Fix::sentence))
}
/// The fix step that names where on the path to look, when two capture points place the
/// cause's signature: the same stretch the verdict's evidence names.
pub fn located_fix(cause: Cause, f: &Facts) -> Option<String> {
    let p = f.path.as_ref()?;
    let what = match cause {
        Cause::NetworkLoss if p.losses().is_some_and(|(s, c)| s + c > 0) => "packets vanish",
        Cause::MiddleboxReset if p.forged_rst() => "a device makes the RST",
        Cause::FirewallBlock if p.syn_never_arrived => "the SYN is dropped (the server's host firewall never saw it)",
        // An ICMP error toward one side that the other side's point never saw comes from a
        // router past the point it never reached.
        Cause::FirewallBlock | Cause::MtuBlackhole if p.icmp_only_at.is_some() => {
            "the router that sent the ICMP error sits"
        }
        _ => return None,
    };
    Some(format!(
        "Look {}: that is where {what}; check the firewalls, NAT, VPN and load-balancing devices and the links there (their logs, drop and error counters)",
        p.segment()
    ))
}

/// network-loss's steps once two capture points have placed the loss (`located_fix` names the
/// stretch): the same evidence answered, without asking for the captures already taken.
const NETWORK_LOSS_LOCATED: &[Fix] = &[Fix {
    step: "On that stretch, check each hop's link: interface error and discard counters, duplex and speed mismatches, Wi-Fi signal, the VPN tunnel's MTU and drops",
    answers: &[
        Answer::Wire("retransmissions with back-off before the close"),
        Answer::Event("RdpCoreTS 142/143/226 0x80070040"),
    ],
}];

/// The fix steps of `rule`, once `located` says whether two capture points placed its signature.
pub fn fix_steps(rule: &Rule, located: bool) -> &'static [Fix] {
    match rule.cause {
        Cause::NetworkLoss if located => NETWORK_LOSS_LOCATED,
        _ => rule.fix,
    }
}

/// "5 of the client's packets lost" / "none of the server's lost".
fn lost(n: u64, side: &str) -> String {
    if n == 0 { format!("none of the {side}'s lost") } else { format!("{n} of the {side}'s packets lost") }
}

const NO_EVENT: fn(&Facts) -> EventScore = |_| None;
const REF_NET: &[&str] = &["rdp-facts.md §6 (network signatures)"];

#[rustfmt::skip]
pub static RULES: &[Rule] = &[
    Rule {
        cause: Cause::ServiceDown,
        title: "Remote Desktop Services is stopped, crashed or not listening",
        severity: Severity::Error,
        client_code: ClientCode { text: "0x204 (516, connect failed)", disconnect: &[0x204], extended: &[] },
        decisive: &[(Sig::SynRefused, None), (Sig::Syn, Some(Side::Client))],
        fix: &[
            Fix { step: "Start Remote Desktop Services and watch it stay up: `Restart-Service TermService -Force`", answers: &[Answer::Wire("RST to the SYN"), Answer::Event("SCM stopped/crashed events")] },
            Fix { step: "If it keeps stopping, look at the SCM 7031/7034 recovery actions and the service's dependencies, and monitor TermService until the cause is fixed", answers: &[] },
            Fix { step: "Check that RDP is enabled and something listens on 3389: `qwinsta` shows rdp-tcp Listen; `netstat -ano | findstr :3389`", answers: &[] },
        ],
        references: &["rdp-facts.md §4.2 (SCM)", "rdp-facts.md §6 N1"],
        packets: |f| f.tcp_refused.then(|| (0.6, "the server answered the SYN with RST: nothing listens on the RDP port".into())),
        events: |f| ev(f, SCM, &[7031, 7034, 7023, 7022, 7000, 7001, 7009, 7011, 7024], 0.8)
            .or_else(|| ev(f, LSM, &[16, 17, 18], 0.8))
            .or_else(|| f.event(SCM, &[7036]).filter(|e| e.facts.service_state == Some(ServiceState::Stopped))
                .map(|e| found(e, 0.7, format!("SCM 7036 ({}): {}", e.input, e.summary)))),
    },
    Rule {
        cause: Cause::FirewallBlock,
        title: "a host or network firewall blocked the connection",
        severity: Severity::Error,
        client_code: ClientCode { text: "0x204 (516) or 0x108 (264, timed out)", disconnect: &[0x204, 0x108], extended: &[] },
        decisive: &[(Sig::FirewallDrop, None), (Sig::Icmp, None), (Sig::SynUnanswered, None), (Sig::Syn, Some(Side::Client))],
        fix: &[
            Fix { step: "Open TCP 3389 (and UDP 3389; TCP 443 for RD Gateway) on the host firewall, the NSG/cloud firewall and any network firewall in between", answers: &[Answer::Wire("SYN unanswered or ICMP administratively prohibited"), Answer::Event("WFP 5152/5157 drops")] },
            Fix { step: "On the server: `Get-NetFirewallRule -DisplayGroup 'Remote Desktop' | Enable-NetFirewallRule`; on the client side allow mstsc.exe outbound", answers: &[Answer::Wire("pktmon: the host's own filtering platform dropped the SYN")] },
            Fix { step: "Confirm from another client with `Test-NetConnection <server> -Port 3389`; behind an RD Gateway, run it from the gateway to the RD Session Host", answers: &[Answer::Event("RD Gateway 304")] },
        ],
        references: &["rdp-facts.md §6 N2, N3", "rdp-facts.md §4.8 (5152/5157)"],
        packets: |f| {
            if let Some(host) = f.syn_firewall_drop { Some((0.9, format!("the {host}'s own network stack dropped the client's SYN for a filter or policy (pktmon): the {host}'s host firewall, not the network"))) }
            else if f.icmp_admin { Some((0.8, "an ICMP 'administratively prohibited' answered the connection".into())) }
            else if let Some(p) = f.path.as_ref().filter(|p| p.syn_never_arrived) { Some((0.85, format!("the client's SYN left its capture point and never reached the server's, which was capturing then: it is dropped {} (a network firewall or route, not the server's host firewall)", p.segment()))) }
            else if f.tcp_unanswered { Some((0.6, "the SYN was retransmitted and never answered".into())) }
            else { None }
        },
        // A drop from a client that then reached the server is a retry, not a block.
        // The RD Gateway could not reach the resource (304): blocked between the gateway and the
        // RD Session Host, or that host is down.
        events: |f| if f.reached_server { None } else { ev(f, SECURITY, &[5152, 5157], 0.85) }
            .or_else(|| ev(f, GATEWAY, &[304], 0.6)),
    },
    Rule {
        cause: Cause::SecurityNegotiation,
        title: "the server refused the RDP security-layer negotiation",
        severity: Severity::Error,
        client_code: ClientCode { text: "0xB09 (2825) when NLA is required, else 0x904 (2308)", disconnect: &[0xB09, 0x904], extended: &[] },
        decisive: &[(Sig::NegFailure, None), (Sig::X224Request, None)],
        fix: &[
            Fix { step: "Make the client offer what the server requires: enable NLA/CredSSP on the client, or (if policy allows) relax the server: Group Policy Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Security: 'Require user authentication for remote connections by using Network Level Authentication' and 'Require use of specific security layer'", answers: &[Answer::Wire("RDP_NEG_FAILURE in the X.224 Connection Confirm")] },
            Fix { step: "Align the listener's SecurityLayer and UserAuthentication values (HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp); run `gpupdate /force` after changing policy", answers: &[] },
            Fix { step: "To confirm, temporarily disable 'Require NLA' on a test server and retry, then restore it", answers: &[] },
        ],
        references: &["rdp-facts.md §2.4 (RDP_NEG_FAILURE)"],
        packets: |f| f.neg_failure.filter(|c| *c != 3).map(|c| (0.9, format!("the server refused the security negotiation: RDP_NEG_FAILURE {}", crate::rdp::codes::NegFailureCode(c)))),
        events: |f| ev(f, RCM, &[1050], 0.4),
    },
    Rule {
        cause: Cause::Certificate,
        title: "the server's TLS certificate or its private key is unusable, missing or expired",
        severity: Severity::Error,
        client_code: ClientCode { text: "0x904 (2308), extended 0 or 7", disconnect: &[0x904], extended: &[0, 7] },
        decisive: &[
            (Sig::NegFailure, None), (Sig::ExpiredCertificate, None), (Sig::TlsAlert, None), (Sig::ClientHello, None),
            (Sig::Close, Some(Side::Server)), (Sig::Close, Some(Side::Client)),
        ],
        fix: &[
            Fix { step: "Regenerate the RDP certificate: delete it from the 'Remote Desktop' certificate store (certlm.msc) and `Restart-Service TermService -Force`; Windows creates a new self-signed one", answers: &[Answer::Wire("server reset after the ClientHello"), Answer::Event("Schannel 36870/36871"), Answer::Event("RCM 1057/1058")] },
            Fix { step: "Repair the private key permissions: C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys must allow SYSTEM and NETWORK SERVICE to read the RDP key (on Azure VMs, through Run command)", answers: &[Answer::Event("Schannel 36870 0x8009030D")] },
            Fix { step: "If a custom certificate is configured, check its expiry, the Server Authentication EKU and SSLCertificateSHA1Hash", answers: &[Answer::Wire("expired certificate in the TLS handshake"), Answer::Event("RCM 1053/1055/1065")] },
            Fix { step: "If the client dropped the connection at the identity check, give the server a certificate the client trusts for the name it connects to (or have the user accept it once)", answers: &[Answer::Wire("client closed after the server's CredSSP pubKeyAuth")] },
        ],
        references: &["rdp-facts.md §4.3 (Schannel)", "rdp-facts.md §4.5 (RCM)", "rdp-facts.md §6"],
        packets: |f| {
            if f.neg_failure == Some(3) { Some((0.85, "RDP_NEG_FAILURE SSL_CERT_NOT_ON_SERVER: the server has no usable certificate".into())) }
            else if f.cert_expired && f.ended_in_tls { Some((0.8, "the server certificate in the TLS handshake had expired".into())) }
            else if f.reset_after_client_hello { Some((0.6, "the server closed the connection right after the TLS ClientHello, without a ServerHello".into())) }
            else if f.server_alert == Some(80) { Some((0.4, "the server sent TLS alert internal_error (80)".into())) }
            else if f.client_rejected_identity { Some((0.5, "the client closed the connection right after the server proved its identity in CredSSP, before sending credentials: it did not accept the server's certificate".into())) }
            else { None }
        },
        events: |f| ev(f, SCHANNEL, &[36870, 36871], 0.8).or_else(|| ev(f, RCM, &[1057, 1058, 1053, 1055, 1065, 1064], 0.75)),
    },
    Rule {
        cause: Cause::TlsMismatch,
        title: "client and server share no TLS version or cipher suite",
        severity: Severity::Error,
        client_code: ClientCode { text: "0x904 (2308)", disconnect: &[0x904], extended: &[] },
        decisive: &[(Sig::TlsAlert, None), (Sig::ClientHello, None)],
        fix: &[
            Fix { step: "Give both sides a common TLS version: enable TLS 1.2 on client and server (SCHANNEL\\Protocols registry keys; on 2008 R2 install KB3080079 first)", answers: &[Answer::Wire("TLS alert protocol_version 70"), Answer::Event("Schannel 36874/36888")] },
            Fix { step: "Restore a common cipher suite: set the 'SSL Cipher Suite Order' policy to Not Configured or add a suite both sides support, then `gpupdate /force` and reboot", answers: &[Answer::Wire("TLS alert handshake_failure 40 / insufficient_security 71")] },
            Fix { step: "Check FIPS policy on both ends", answers: &[] },
        ],
        references: &["rdp-facts.md §5 (TLS alerts)", "rdp-facts.md §4.3 (Schannel)"],
        packets: |f| match f.server_alert.or(f.client_alert) {
            Some(a @ (40 | 70 | 71)) => Some((0.8, format!("fatal TLS alert {} ({a}): no common TLS version or cipher suite", crate::rdp::codes::TlsAlert(a)))),
            _ => None,
        },
        events: |f| ev(f, SCHANNEL, &[36874], 0.8).or_else(|| f.event(SCHANNEL, &[36888, 36887])
            .filter(|e| matches!(e.facts.error_code, Some(40 | 70 | 71)))
            .map(|e| found(e, 0.75, format!("Schannel {} ({}): {}", e.event_id, e.input, e.summary)))),
    },
    Rule {
        cause: Cause::NlaAuth,
        title: "Network Level Authentication (CredSSP) failed",
        severity: Severity::Error,
        client_code: ClientCode { text: "0x807 (2055, logon failure) or 0x904 (2308)", disconnect: &[0x807, 0x904], extended: &[] },
        decisive: &[(Sig::TlsAlert, Some(Side::Server)), (Sig::Close, Some(Side::Server)), (Sig::FirstEncrypted, Some(Side::Client))],
        fix: &[
            Fix { step: "Check the account named in the Security 4625 event: Status/SubStatus say why (wrong password, locked out, expired, disabled)", answers: &[Answer::Event("4625"), Answer::Event("RdpCoreTS 140")] },
            Fix { step: "If CredSSP itself fails (LsaSrv 6041), patch client and server so both have the CredSSP update (CVE-2018-0886); the client-side 'Encryption Oracle Remediation' policy is only a temporary workaround", answers: &[] },
            Fix { step: "Make sure the server can reach a domain controller and its clock is in sync (`w32tm /query /status`); test once with a local account", answers: &[] },
        ],
        references: &["rdp-facts.md §4.8 (4625)", "rdp-facts.md §4.10 (CredSSP)"],
        packets: |f| {
            if f.nla_rejected { Some((0.6, "the server answered the client's CredSSP credentials with an encrypted TLS alert and the connection closed: NLA refused the logon".into())) }
            else if f.nla_failed { Some((0.5, "TLS completed, then the server closed the connection during the short CredSSP (NLA) exchange".into())) }
            else { None }
        },
        events: |f| {
            if f.event(SECURITY, &[4625]).is_some_and(denied) { return None; } // server-denied
            ev(f, SECURITY, &[4625], 0.85).or_else(|| ev(f, CORE, &[140], 0.85)).or_else(|| ev(f, LSASRV, &[6041], 0.8))
        },
    },
    Rule {
        cause: Cause::ServerDenied,
        title: "the server refused the session after authentication",
        severity: Severity::Error,
        client_code: ClientCode { text: "0x904 (2308) with extended 7 (ServerDeniedConnection)", disconnect: &[0x904], extended: &[7] },
        decisive: &[(Sig::Close, Some(Side::Server)), (Sig::FirstEncrypted, Some(Side::Client))],
        fix: &[
            Fix { step: "If the server is in drain mode or logons are disabled, allow connections again: `chglogon /enable`", answers: &[Answer::Event("RCM 1070/1071")] },
            Fix { step: "Grant the user 'Allow log on through Remote Desktop Services' (add to Remote Desktop Users) and run `gpupdate /force`", answers: &[Answer::Event("4625 0xC000015B"), Answer::Event("Security 4825")] },
            Fix { step: "Behind an RD Gateway: add the user (or group) to an RD CAP and the target to an RD RAP in RD Gateway Manager, with the exact name the client uses for the resource", answers: &[Answer::Event("RD Gateway 201/301")] },
        ],
        references: &["rdp-facts.md §4.5 (RCM 1070/1071)", "rdp-facts.md §4.8 (4625 0xC000015B)"],
        packets: |f| f.session_failed.then(|| (0.4, "NLA completed, then the server closed the connection before the session started".into())),
        // The RD Gateway refusing by policy (RD CAP 201, RD RAP 301, connection limit 203) is the
        // same answer from the gateway.
        events: |f| ev(f, RCM, &[1070, 1071], 0.85).or_else(|| ev(f, SECURITY, &[4825], 0.85))
            .or_else(|| ev(f, GATEWAY, &[201, 301, 203], 0.85)).or_else(|| {
            f.event(SECURITY, &[4625]).filter(|e| denied(e))
                .map(|e| found(e, 0.85, format!("Security 4625 ({}): {} — the account may not log on this way (a policy, not the password)", e.input, e.summary)))
        }),
    },
    Rule {
        cause: Cause::Licensing,
        title: "RD licensing refused the session",
        severity: Severity::Error,
        client_code: ClientCode { text: "0x904 (2308) with extended 256-267 (licensing)", disconnect: &[0x904], extended: &[256] },
        decisive: &[(Sig::Close, Some(Side::Server)), (Sig::FirstEncrypted, Some(Side::Client))],
        fix: &[
            Fix { step: "Configure the RD licensing mode and a reachable license server, or renew the grace period; `mstsc /admin` connects meanwhile", answers: &[Answer::Event("RCM 1068/1069")] },
        ],
        references: &["rdp-facts.md §4.5 (RCM 1068/1069)"],
        packets: |f| f.session_failed.then(|| (0.2, "the server closed the connection after authentication".into())),
        events: |f| ev(f, RCM, &[1068, 1069], 0.85),
    },
    Rule {
        cause: Cause::MtuBlackhole,
        title: "large packets never arrive (path MTU black hole)",
        severity: Severity::Error,
        client_code: ClientCode { text: "0x904 (2308) or 0x108 (264, timed out)", disconnect: &[0x904, 0x108], extended: &[] },
        decisive: &[(Sig::Icmp, None), (Sig::Retransmitted, None)],
        fix: &[
            Fix { step: "Find the path MTU: `ping -f -l 1472 <server>` and lower the size until it passes; fix the tunnel/VPN MTU or allow ICMP 'fragmentation needed' / 'packet too big' through the firewalls", answers: &[Answer::Wire("full-size segment retransmitted and never acknowledged"), Answer::Wire("ICMP with the next-hop MTU")] },
            Fix { step: "As a workaround, clamp the TCP MSS on the VPN/edge device or lower the interface MTU (`netsh interface ipv4 set subinterface <name> mtu=1400 store=persistent`)", answers: &[] },
        ],
        references: &["rdp-facts.md §6 N6, N7"],
        packets: |f| {
            if let Some(m) = f.icmp_mtu { Some((0.85, format!("ICMP says a link on the path only carries {m}-byte packets"))) }
            else if f.big_segment_lost && f.loss_unrecovered { Some((0.65, "a full-size segment was retransmitted with back-off and never acknowledged while smaller ones got through".into())) }
            else { None }
        },
        events: |f| ev(f, CORE, &[143], 0.3),
    },
    Rule {
        cause: Cause::MiddleboxReset,
        title: "a device on the path reset the connection",
        severity: Severity::Error,
        client_code: ClientCode { text: "0x904 (2308)", disconnect: &[0x904], extended: &[] },
        decisive: &[(Sig::ForgedRst, None)],
        fix: &[
            Fix { step: "Find the device that injects the reset: the RST's TTL does not match the server's; check IPS/IDS, TLS inspection, load balancers and NAT timeouts on the path, and exempt RDP", answers: &[Answer::Wire("RST with a foreign TTL")] },
        ],
        references: &["rdp-facts.md §6 N9"],
        packets: |f| if let Some(p) = f.path.as_ref().filter(|p| p.forged_rst()) {
            let who = if p.rst_not_sent_by_server { "the client's point received a RST from the server that the server's point never saw the server send" } else { "the server's point received a RST from the client that the client's point never saw the client send" };
            Some((0.9, format!("{who}: a device {} made it (proven by both captures, not inferred from the TTL)", p.segment())))
        } else { f.rst_ttl_mismatch.then(|| (0.75, "the RST's TTL does not match the other packets of the side it claims to come from: a device on the path sent it".into())) },
        events: |f| ev(f, CORE, &[142], 0.3),
    },
    Rule {
        cause: Cause::NetworkLoss,
        title: "the path lost packets until the connection died",
        severity: Severity::Error,
        client_code: ClientCode { text: "0x904 (2308) or 0x404 (1028, receive failed)", disconnect: &[0x904, 0x404], extended: &[] },
        decisive: &[(Sig::Retransmitted, None), (Sig::Close, None)],
        fix: &[
            Fix { step: "Find where packets are lost: capture at both ends at the same time (`pktmon start --capture --comp nics -f rdp.etl` on the server), compare, and check link errors on the path", answers: &[Answer::Wire("retransmissions with back-off before the close"), Answer::Event("RdpCoreTS 142/143/226 0x80070040")] },
        ],
        references: &["rdp-facts.md §6 N4, N5", "rdp-facts.md §4.6 (RdpCoreTS 226)"],
        packets: |f| (f.loss_unrecovered && !f.big_segment_lost && f.icmp_mtu.is_none()).then(|| {
            let back_off = format!("{} retransmissions with back-off before the connection was torn down", f.retransmissions);
            match f.path.as_ref().and_then(|p| p.losses().filter(|(s, c)| s + c > 0).map(|l| (p, l))) {
                Some((p, (to_server, to_client))) => (0.8, format!("{}: {}, {}; {back_off}", p.segment(), lost(to_server, "client"), lost(to_client, "server"))),
                None => (0.55, back_off),
            }
        }),
        events: |f| if f.probe.is_some() { None } else { ev(f, CORE, &[142, 143], 0.5) }.or_else(|| f.event(CORE, &[226, 228]).filter(|e| e.facts.error_code == Some(0x8007_0040))
            .map(|e| found(e, 0.5, format!("RdpCoreTS {} ({}): {}", e.event_id, e.input, e.summary)))),
    },
    Rule {
        cause: Cause::UdpBlocked,
        title: "the RDP-UDP side channel is blocked; the session fell back to TCP",
        severity: Severity::Warning,
        client_code: ClientCode { text: "none by itself (the session falls back to TCP)", disconnect: &[], extended: &[] },
        decisive: &[(Sig::RdpUdpSyn, Some(Side::Client))],
        fix: &[
            Fix { step: "Allow UDP 3389 end to end (host firewall, NSG, network firewalls) so RDP-UDP can carry the session", answers: &[Answer::Wire("RDP-UDP SYNs never answered"), Answer::Event("client 1104, RdpCoreTS 136")] },
            Fix { step: "Or force TCP: Group Policy 'Turn off UDP on Client' (Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Connection Client) and `gpupdate /force`", answers: &[] },
        ],
        references: &["rdp-facts.md §3 (MS-RDPEUDP)"],
        packets: |f| (f.udp_failed || (f.udp && f.failed_phase == Some(crate::vocab::Stage::Udp))).then(|| (0.7, "RDP-UDP SYNs to UDP 3389 were never answered".into())),
        events: |f| ev(f, CLIENT, &[1104], 0.7).or_else(|| ev(f, CORE, &[136], 0.7)),
    },
    Rule {
        cause: Cause::NotRdp,
        title: "another service answers on the port: this is not RDP",
        severity: Severity::Info,
        client_code: ClientCode { text: "0x904 (2308) or 0x708 (1800) on the client that tried it", disconnect: &[0x904], extended: &[] },
        decisive: &[(Sig::NotX224, None), (Sig::X224Request, None)],
        fix: &[
            Fix { step: "Point the client at the host and port where Remote Desktop listens (`Get-ItemProperty 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp' PortNumber` on the server)", answers: &[Answer::Wire("a reply to the X.224 Connection Request that is not X.224")] },
        ],
        references: &["rdp-facts.md §2.3 (X.224 Connection Confirm)"],
        packets: |f| f.not_rdp.clone().map(|why| (0.9, why)),
        events: NO_EVENT,
    },
    Rule {
        cause: Cause::Probe,
        title: "a scanner, health check or tool that never tried to log on",
        severity: Severity::Info,
        client_code: NONE,
        decisive: &[(Sig::Close, Some(Side::Client)), (Sig::SynAck, None), (Sig::Close, None)],
        fix: &[],
        references: REF_NET,
        packets: |f| f.probe.clone().map(|why| (0.8, why)),
        events: NO_EVENT,
    },
    Rule {
        cause: Cause::None,
        title: "the connection worked",
        severity: Severity::Info,
        client_code: NONE,
        decisive: &[(Sig::FirstEncrypted, Some(Side::Server)), (Sig::SynAck, None)],
        fix: &[],
        references: &[],
        // A session the server ended is not proof of health: that needs the client to close it,
        // or the capture to end with it open; nor is one whose path stopped delivering (data
        // still unacknowledged when it was torn down). An answered RDP-UDP handshake worked too.
        packets: |f| {
            if f.session_ok && f.failed_phase.is_none() && !f.closed_by_server && !f.loss_unrecovered {
                Some((0.8, "every phase completed and the server served the session".into()))
            } else if f.udp_answered {
                Some((0.7, "the server answered the RDP-UDP handshake and data flowed".into()))
            } else { None }
        },
        // For a connection seen only in the logs: a session logon is the sign it worked.
        events: |f| if f.has_packets { None } else {
            ev(f, LSM, &[21, 22, 25], 0.7).or_else(|| f.events.iter().find(|e| e.provider.as_str() == SECURITY && e.event_id == 4624
                    && e.facts.logon_type == Some(10))
                .map(|e| found(e, 0.7, format!("Security 4624 ({}): {}", e.input, e.summary))))
                .or_else(|| ev(f, RCM, &[1149], 0.6)).or_else(|| ev(f, SECURITY, &[4778], 0.6))
        },
    },
];
