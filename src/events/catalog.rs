//! The event catalogue: which Windows events matter for Remote Desktop failures, what each
//! means, which fields to keep, and where its client address is.
//!
//! One table, `CATALOG`, keyed by provider name + event id (the channel is only a hint: the same
//! event lands in different channels across Windows builds). `type_event` turns a `WinEvent` into
//! a `TypedEvent` with a kind, a one-line summary and the client `ip[:port]` when the event has
//! one. Service Control Manager events are kept only when they concern Remote Desktop Services
//! (service key "TermService" in the binary data, or the display name).
//!
//! References: ../shared/knowledge/rdp-facts.md §4 (event ids, providers, field names, drawn
//! from the providers' manifests and Microsoft's audit-event documentation).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use super::{Fields, WinEvent};
use crate::time::Ts;

pub const SCM: &str = "Service Control Manager";
pub const SCHANNEL: &str = "Schannel";
pub const TERMDD: &str = "TermDD";
pub const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
pub const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager";
pub const CORE: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS";
pub const SECURITY: &str = "Microsoft-Windows-Security-Auditing";
pub const CLIENT: &str = "Microsoft-Windows-TerminalServices-ClientActiveXCore";
pub const LSASRV: &str = "LsaSrv";

/// What an event is about, for grouping in reports and rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Remote Desktop Services started, stopped, crashed or hung.
    Service,
    /// Schannel could not use or create the server's TLS credential (certificate / private key).
    TlsCredential,
    /// TLS handshake failure: no common cipher or protocol, or a fatal alert.
    TlsHandshake,
    /// The RDP certificate: generated, expiring, expired, unusable.
    Certificate,
    /// Listener started, stopped or failed.
    Listener,
    /// A TCP or UDP connection reached the RDP stack.
    Connection,
    /// The RDP stack found a protocol or security-layer error and dropped the client.
    ProtocolError,
    /// Network read/write failures and state-machine errors inside the RDP stack.
    NetworkError,
    /// Authentication succeeded (NLA / logon).
    AuthSuccess,
    /// Authentication failed (NLA / logon).
    AuthFailure,
    /// The server refused after authentication (drain mode, connections disabled).
    ServerDenied,
    /// RD licensing problems.
    Licensing,
    /// Session logon, disconnect, reconnect, logoff.
    Session,
    /// RDP-UDP multitransport set-up or fallback to TCP.
    Multitransport,
    /// Windows Filtering Platform allowed or blocked a packet or connection.
    Firewall,
    /// The RDP client's own events (connect, disconnect with reason, multitransport).
    Client,
}

/// One catalogue line.
pub struct Entry {
    pub provider: &'static str,
    pub ids: &'static [u16],
    pub kind: Kind,
    /// What the event says, in our words.
    pub meaning: &'static str,
    /// The fields worth showing, in order.
    pub fields: &'static [&'static str],
}

macro_rules! e {
    ($p:expr, [$($id:expr),+], $k:ident, $m:expr, [$($f:expr),*]) => {
        Entry { provider: $p, ids: &[$($id),+], kind: Kind::$k, meaning: $m, fields: &[$($f),*] }
    };
}

#[rustfmt::skip]
pub const CATALOG: &[Entry] = &[
    // Service Control Manager (System) — only for TermService, see `concerns_termservice`.
    e!(SCM, [7000, 7001, 7009, 7011, 7022, 7023, 7024], Service, "Remote Desktop Services failed to start, hung or stopped with an error", ["param1", "param2", "param3"]),
    e!(SCM, [7031, 7034], Service, "Remote Desktop Services terminated unexpectedly", ["param1", "param2", "param3", "param5", "Binary"]),
    e!(SCM, [7036], Service, "Remote Desktop Services changed state (running/stopped)", ["param1", "param2", "Binary"]),
    // Schannel (System)
    e!(SCHANNEL, [36870], TlsCredential, "fatal error accessing the TLS credential's private key", ["Type", "ErrorCode", "ErrorStatus", "ErrorState"]),
    e!(SCHANNEL, [36871], TlsCredential, "fatal error creating the TLS credential", ["Type", "ErrorState", "ErrorCode"]),
    e!(SCHANNEL, [36874], TlsHandshake, "TLS connection request received but no cipher suite is supported by both sides", ["Protocol", "Data1"]),
    e!(SCHANNEL, [36887], TlsHandshake, "fatal TLS alert received from the peer", ["AlertDesc", "ErrorState"]),
    e!(SCHANNEL, [36888], TlsHandshake, "fatal TLS alert generated and sent to the peer", ["AlertDesc", "ErrorState", "TargetName"]),
    // TermDD (System)
    e!(TERMDD, [50], ProtocolError, "an RDP protocol component found a stream error and dropped the client", ["Data2", "Binary"]),
    e!(TERMDD, [56], ProtocolError, "the RDP security layer found a stream error and dropped the client", ["Data2", "Binary"]),
    // RemoteConnectionManager
    e!(RCM, [258], Listener, "RDP listener started", ["listenerName"]),
    e!(RCM, [259], Listener, "RDP listener stopped", ["listenerName"]),
    e!(RCM, [262], Listener, "RDP listener was asked to stop", ["listenerName"]),
    e!(RCM, [261], Connection, "RDP listener received a connection (before TLS and NLA)", ["listenerName"]),
    e!(RCM, [1050, 1051, 1059], Certificate, "listener security settings or certificate configuration corrected", []),
    e!(RCM, [1052, 1053, 1054, 1055], Certificate, "configured RDP certificate expiring, expired, lacking Server Authentication or with an inaccessible private key", []),
    e!(RCM, [1056], Certificate, "new self-signed RDP certificate generated", []),
    e!(RCM, [1057, 1058], Certificate, "failed to create or replace the self-signed RDP certificate", ["Param1"]),
    e!(RCM, [1060, 1061, 1062, 1063, 1064, 1065, 1066], Certificate, "template-based RDP certificate problem (invalid, not installed, expired and not replaced)", []),
    e!(RCM, [1067], Certificate, "cannot register the TERMSRV service principal name", []),
    e!(RCM, [1068, 1069], Licensing, "RD licensing mode not configured or grace period expired", []),
    e!(RCM, [1070], ServerDenied, "logon denied: the server is in drain mode", []),
    e!(RCM, [1071], ServerDenied, "connection denied: the server does not accept new connections", []),
    e!(RCM, [1149], AuthSuccess, "user authentication succeeded (with NLA: credentials accepted)", ["Param1", "Param2", "Param3"]),
    e!(RCM, [1158], Connection, "connection accepted from a client address", ["Param1"]),
    // RdpCoreTS
    e!(CORE, [65], Connection, "RDP connection created", ["ConnectionName"]),
    e!(CORE, [66], Connection, "RDP connection assigned to a session", ["ConnectionName", "SessionID"]),
    e!(CORE, [97], ProtocolError, "an RDP component found a protocol error; the client was disconnected", ["ComponentName", "ErrorCode"]),
    e!(CORE, [98], Connection, "a TCP connection was established", []),
    e!(CORE, [99], NetworkError, "a TCP connection failed", ["ResultCode"]),
    e!(CORE, [102], Connection, "the server ended the main RDP connection", []),
    e!(CORE, [103], Connection, "RDP disconnect reason", ["ReasonCode"]),
    e!(CORE, [130], Multitransport, "multitransport (RDP-UDP) request sent", ["TunnelID"]),
    e!(CORE, [135], Multitransport, "multitransport (RDP-UDP) set up", ["TunnelID", "TransportType"]),
    e!(CORE, [131], Connection, "the server accepted a new TCP or UDP connection from a client", ["ConnType", "ClientIP"]),
    e!(CORE, [136], Multitransport, "multitransport could not be established: the connection stays on TCP", []),
    e!(CORE, [139], ProtocolError, "security-layer error in the stream; the client was disconnected", ["ResultCode", "IPString"]),
    e!(CORE, [140], AuthFailure, "a connection failed because the user name or password is wrong", ["IPString"]),
    e!(CORE, [142], NetworkError, "TCP socket read failed", ["error", "Error", "ErrorCode"]),
    e!(CORE, [143], NetworkError, "TCP socket write failed", ["error", "Error", "ErrorCode"]),
    e!(CORE, [148], Multitransport, "a channel was closed on a tunnel", ["ChannelName", "TunnelID"]),
    e!(CORE, [226], NetworkError, "RDP state-machine transition failed", ["StateTransition", "PreviousStateName", "EventName", "ErrorCode"]),
    e!(CORE, [227, 228], NetworkError, "RDP stack error / disconnect trace", ["ComponentName", "Message", "ErrorCode", "CustomLevel"]),
    // LocalSessionManager
    e!(LSM, [16], Service, "the Local Session Manager failed to start", ["Param1"]),
    e!(LSM, [17], Service, "Remote Desktop Services failed to start", ["Param1"]),
    e!(LSM, [18], Service, "Remote Desktop Services shut down unexpectedly", []),
    e!(LSM, [21], Session, "session logon succeeded", ["User", "SessionID", "Address"]),
    e!(LSM, [22], Session, "shell start notification", ["User", "SessionID", "Address"]),
    e!(LSM, [23], Session, "session logoff succeeded", ["User", "SessionID"]),
    e!(LSM, [24], Session, "session disconnected", ["User", "SessionID", "Address"]),
    e!(LSM, [25], Session, "session reconnection succeeded", ["User", "SessionID", "Address"]),
    e!(LSM, [39], Session, "session disconnected by another session", ["TargetSession", "Source"]),
    e!(LSM, [40], Session, "session disconnected with a reason code", ["Session", "Reason"]),
    // Security
    e!(SECURITY, [4624], AuthSuccess, "an account logged on", ["TargetUserName", "TargetDomainName", "LogonType", "IpAddress", "IpPort"]),
    e!(SECURITY, [4625], AuthFailure, "an account failed to log on", ["TargetUserName", "TargetDomainName", "LogonType", "Status", "SubStatus", "IpAddress", "IpPort"]),
    e!(SECURITY, [4778], Session, "a session was reconnected to a window station", ["AccountName", "SessionName", "ClientName", "ClientAddress"]),
    e!(SECURITY, [4779], Session, "a session was disconnected from a window station", ["AccountName", "SessionName", "ClientName", "ClientAddress"]),
    e!(SECURITY, [5152], Firewall, "the Windows Filtering Platform blocked a packet", ["Direction", "SourceAddress", "SourcePort", "DestAddress", "DestPort", "Protocol", "LayerName"]),
    e!(SECURITY, [5157], Firewall, "the Windows Filtering Platform blocked a connection", ["Direction", "SourceAddress", "SourcePort", "DestAddress", "DestPort", "Protocol", "LayerName"]),
    e!(SECURITY, [5156], Firewall, "the Windows Filtering Platform allowed a connection", ["Direction", "SourceAddress", "SourcePort", "DestAddress", "DestPort", "Protocol", "LayerName"]),
    // The RDP client (RDPClient/Operational)
    e!(CLIENT, [1024], Client, "client is connecting to a server", ["Name", "Value"]),
    e!(CLIENT, [1025], Client, "client connected to the server", []),
    e!(CLIENT, [1026], Client, "client disconnected (reason code in decimal)", ["Name", "Value"]),
    e!(CLIENT, [1027], Client, "client connected to a domain and session (logon done)", ["DomainName", "SessionId"]),
    e!(CLIENT, [1028], Client, "server supports SSL", ["Name", "Value"]),
    e!(CLIENT, [1029], Client, "hash of the user name the client sent", ["TraceMessage"]),
    e!(CLIENT, [1102], Client, "client started a multitransport (RDP-UDP) connection", ["Name", "Value"]),
    e!(CLIENT, [1103], Client, "client multitransport (RDP-UDP) connection established", ["Name", "Value"]),
    e!(CLIENT, [1104], Client, "client multitransport (RDP-UDP) connection failed", ["Name", "Value"]),
    e!(CLIENT, [1105], Client, "client multitransport (RDP-UDP) connection disconnected", ["Name", "Value"]),
    e!(CLIENT, [226], Client, "client state-machine transition failed", ["StateTransitionName", "EventName", "ErrorCode"]),
    // CredSSP on the client
    e!(LSASRV, [6041], AuthFailure, "CredSSP: the client could not delegate credentials (NLA failure on the client side)", []),
];

/// The catalogue line for a provider and event id.
pub fn lookup(provider: &str, id: u16) -> Option<&'static Entry> {
    CATALOG.iter().find(|e| e.provider.eq_ignore_ascii_case(provider) && e.ids.contains(&id))
}

/// Whether events of this provider and id keep their fields (the `wanted` filter for readers).
pub fn is_catalogued(provider: &str, id: u16) -> bool {
    lookup(provider, id).is_some()
}

/// A client address as events write it: IP, and the TCP source port when the event has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ClientAddr {
    pub ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}", SocketAddr::new(self.ip, p)),
            None => write!(f, "{}", self.ip),
        }
    }
}

/// A catalogued event with its meaning and the facts correlation needs.
#[derive(Clone, Debug, Serialize)]
pub struct TypedEvent {
    #[serde(serialize_with = "crate::connection::ser_ts")]
    pub ts: Ts,
    pub input: String,
    pub record_id: u64,
    /// The host that logged it (`Computer`).
    pub host: String,
    pub provider: String,
    pub event_id: u16,
    pub kind: Kind,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
    /// The catalogue's fields that the event has.
    pub fields: BTreeMap<String, String>,
}

/// Types a catalogued event; `None` for events outside the catalogue and for Service Control
/// Manager events about other services.
pub fn type_event(e: &WinEvent) -> Option<TypedEvent> {
    let entry = lookup(&e.provider, e.event_id)?;
    if entry.provider == SCM && !concerns_termservice(e) {
        return None;
    }
    // Firewall events matter only for RDP traffic (TCP/UDP 3389, RD Gateway UDP 3391).
    if entry.provider == SECURITY && matches!(e.event_id, 5152 | 5156 | 5157) {
        let rdp = |k: &str| e.fields.get(k).is_some_and(|p| matches!(p.trim(), "3389" | "3391"));
        if !rdp("SourcePort") && !rdp("DestPort") {
            return None;
        }
    }
    // Service logons (types 0, 2, 4, 5, 8, 9, 11...) are noise here: Remote Desktop shows as
    // type 10 (RemoteInteractive), 3 (the NLA network logon) and 7 (unlock / reconnect).
    if entry.provider == SECURITY && e.event_id == 4624 {
        let t = e.fields.get("LogonType").map(|t| t.trim()).unwrap_or("");
        if !matches!(t, "3" | "7" | "10") {
            return None;
        }
    }
    let fields: BTreeMap<String, String> = entry
        .fields
        .iter()
        .filter_map(|f| e.fields.get(f).filter(|v| !v.is_empty()).map(|v| (f.to_string(), v.to_string())))
        .collect();
    let client = client_addr(entry.provider, e.event_id, &e.fields);
    let summary = summary(entry, e, &fields, client);
    Some(TypedEvent {
        ts: e.ts,
        input: e.input.to_string(),
        record_id: e.record_id,
        host: e.computer.to_string(),
        provider: e.provider.to_string(),
        event_id: e.event_id,
        kind: entry.kind,
        summary,
        client,
        activity_id: e.activity_id.clone(),
        fields,
    })
}

/// SCM events name the service by its localized display name; the binary data carries the
/// service key name as UTF-16LE ("TermService/1" for stopped in 7036), which is reliable.
fn concerns_termservice(e: &WinEvent) -> bool {
    let key = e.fields.get("Binary").map(utf16_hex_to_string).unwrap_or_default();
    let name = e.fields.get("param1").unwrap_or("");
    key.to_ascii_lowercase().starts_with("termservice")
        || name.eq_ignore_ascii_case("Remote Desktop Services")
        || name.eq_ignore_ascii_case("TermService")
}

/// Decodes hex text holding UTF-16LE bytes (how SCM stores "<ServiceKey>/<state>").
pub fn utf16_hex_to_string(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| hex.get(2 * i..2 * i + 2))
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect();
    let units: Vec<u16> = bytes.chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
    String::from_utf16_lossy(&units)
}

/// Parses "a.b.c.d", "a.b.c.d:port", "[v6]:port", "[a.b.c.d]:port" and a bare IPv6 address.
pub fn parse_addr(s: &str) -> Option<ClientAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ClientAddr { ip, port: None });
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(ClientAddr { ip: sa.ip(), port: Some(sa.port()) });
    }
    // "[10.0.0.5]:50123": bracketed IPv4 (seen in RdpCoreTS 131), which SocketAddr rejects.
    let rest = s.strip_prefix('[')?;
    let (ip, port) = rest.split_once("]:")?;
    Some(ClientAddr { ip: ip.parse().ok()?, port: port.parse().ok() })
}

fn with_port(ip: Option<&str>, port: Option<&str>) -> Option<ClientAddr> {
    let mut a = parse_addr(ip?)?;
    a.port = port.and_then(|p| p.trim().parse::<u16>().ok()).filter(|p| *p != 0).or(a.port);
    Some(a)
}

fn client_addr(provider: &str, id: u16, f: &Fields) -> Option<ClientAddr> {
    let get = |k: &str| f.get(k);
    match (provider, id) {
        (CORE, 131) => parse_addr(get("ClientIP")?),
        (CORE, 139 | 140) => parse_addr(get("IPString")?),
        (RCM, 1149) => parse_addr(get("Param3")?),
        (RCM, 1158) => parse_addr(get("Param1")?),
        (TERMDD, 56) => parse_addr(get("Data2")?),
        (LSM, 21..=25) => parse_addr(get("Address")?),
        (SECURITY, 4624 | 4625) => with_port(get("IpAddress"), get("IpPort")),
        (SECURITY, 4778 | 4779) => parse_addr(get("ClientAddress")?),
        (SECURITY, 5152 | 5156 | 5157) => {
            // WFP: Source is the local side, Dest the remote one; for an inbound RDP connection
            // the client is the Dest side. Take whichever side is not the RDP port.
            let src = with_port(get("SourceAddress"), get("SourcePort"));
            let dst = with_port(get("DestAddress"), get("DestPort"));
            match (src, dst) {
                (Some(s), Some(d)) if s.port == Some(3389) => Some(d),
                (Some(s), Some(d)) if d.port == Some(3389) => Some(s),
                (_, d) => d,
            }
        }
        _ => None,
    }
}

fn summary(entry: &Entry, e: &WinEvent, fields: &BTreeMap<String, String>, client: Option<ClientAddr>) -> String {
    let f = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
    let from = client.map(|c| format!(" from {c}")).unwrap_or_default();
    match (entry.provider, e.event_id) {
        (SCM, 7036) => format!("{} entered the {} state", f("param1"), f("param2")),
        (SCM, 7031 | 7034) => format!("{} terminated unexpectedly ({} time(s))", f("param1"), f("param2")),
        (SECURITY, 4625) => {
            let sub = f("SubStatus");
            format!(
                "logon failed for {}\\{}{from}: status {} ({}), sub-status {} ({}), logon type {}",
                f("TargetDomainName"),
                f("TargetUserName"),
                f("Status"),
                ntstatus_name(f("Status")),
                sub,
                ntstatus_name(sub),
                f("LogonType")
            )
        }
        (SECURITY, 4624) => {
            format!("logon of {}\\{}{from}, logon type {}", f("TargetDomainName"), f("TargetUserName"), f("LogonType"))
        }
        (CORE, 131) => format!("server accepted a new {} connection{from}", f("ConnType")),
        (RCM, 1149) => format!("user authentication succeeded for {}\\{}{from}", f("Param2"), f("Param1")),
        (SCHANNEL, 36887 | 36888) => format!("{}: alert {}", entry.meaning, f("AlertDesc")),
        (CLIENT, 1026) => format!("client disconnected, reason {}", f("Value")),
        _ => {
            // Address fields are already in "from <client>"; binary data is not for reading.
            const HIDDEN: [&str; 7] =
                ["Binary", "IPString", "ClientIP", "IpAddress", "IpPort", "Address", "ClientAddress"];
            let hidden = |k: &str| HIDDEN.contains(&k) && (k == "Binary" || client.is_some());
            let shown: Vec<String> =
                fields.iter().filter(|(k, _)| !hidden(k)).map(|(k, v)| format!("{k}={v}")).collect();
            if shown.is_empty() {
                format!("{}{from}", entry.meaning)
            } else {
                format!("{}{from} ({})", entry.meaning, shown.join(", "))
            }
        }
    }
}

/// Names of the NTSTATUS values that Security 4625 carries (Microsoft's event 4625 documentation).
pub fn ntstatus_name(code: &str) -> &'static str {
    match code.trim().to_ascii_uppercase().trim_start_matches("0X") {
        "C000005E" => "no logon servers",
        "C0000064" => "user name does not exist",
        "C000006A" => "wrong password",
        "C000006D" => "bad user name or authentication information",
        "C000006E" => "account restriction",
        "C000006F" => "outside allowed logon hours",
        "C0000070" => "workstation restriction",
        "C0000071" => "password expired",
        "C0000072" => "account disabled",
        "C0000133" => "clock skew with the domain controller",
        "C000015B" => "logon type not granted (not allowed to log on through Remote Desktop Services)",
        "C000018C" => "trust relationship failed",
        "C0000192" => "Netlogon service not started",
        "C0000193" => "account expired",
        "C0000224" => "password must change",
        "C0000234" => "account locked out",
        "C0000413" => "authentication firewall",
        "0" | "" => "none",
        _ => "unknown",
    }
}

/// A catalogued event logged by "RDSH01" at `ts`, typed, for the tests of later stages.
#[cfg(test)]
pub(crate) fn typed_for_test(provider: &str, id: u16, ts: Ts, fields: &[(&str, &str)]) -> TypedEvent {
    let e = WinEvent {
        ts,
        provider: provider.into(),
        event_id: id,
        computer: "RDSH01".into(),
        fields: fields.iter().copied().collect(),
        ..Default::default()
    };
    type_event(&e).expect("catalogued")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(provider: &str, id: u16, fields: &[(&str, &str)]) -> WinEvent {
        WinEvent {
            provider: provider.into(),
            event_id: id,
            fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn every_issue_listed_event_is_catalogued() {
        let want: &[(&str, &[u16])] = &[
            (SCM, &[7000, 7001, 7009, 7011, 7022, 7023, 7024, 7031, 7034, 7036]),
            (SCHANNEL, &[36870, 36871, 36874, 36887, 36888]),
            (TERMDD, &[50, 56]),
            (RCM, &[258, 259, 261, 1149, 1158]),
            (CORE, &[65, 66, 97, 98, 99, 102, 103, 130, 131, 135, 136, 139, 140, 142, 143, 148, 226, 227, 228]),
            (LSM, &[16, 17, 18, 21, 22, 23, 24, 25, 39, 40]),
            (SECURITY, &[4624, 4625, 4778, 4779, 5152, 5156, 5157]),
            (CLIENT, &[1024, 1025, 1026, 1027, 1028, 1029, 1102, 1103, 1104, 1105, 226]),
            (LSASRV, &[6041]),
        ];
        for (p, ids) in want {
            for id in *ids {
                assert!(is_catalogued(p, *id), "{p} {id}");
            }
        }
        for id in 1050..=1071u16 {
            assert!(is_catalogued(RCM, id), "RCM {id}");
        }
        assert!(!is_catalogued(SECURITY, 4688));
        // one line per provider+id: no id appears twice for the same provider
        for (i, a) in CATALOG.iter().enumerate() {
            for b in &CATALOG[i + 1..] {
                assert!(
                    a.provider != b.provider || a.ids.iter().all(|id| !b.ids.contains(id)),
                    "{} {:?}",
                    a.provider,
                    a.ids
                );
            }
        }
    }

    #[test]
    fn client_addresses() {
        // RdpCoreTS 131 ClientIP forms seen in real logs (rdp-facts §4.6)
        assert_eq!(parse_addr("10.0.0.5:50123").map(|a| a.to_string()).as_deref(), Some("10.0.0.5:50123"));
        assert_eq!(parse_addr("[fe80::1]:3390").map(|a| a.to_string()).as_deref(), Some("[fe80::1]:3390"));
        assert_eq!(parse_addr("[10.0.0.5]:50123").map(|a| a.to_string()).as_deref(), Some("10.0.0.5:50123"));
        assert_eq!(parse_addr("-"), None);
        let e = event(
            SECURITY,
            4625,
            &[
                ("IpAddress", "192.168.1.20"),
                ("IpPort", "50611"),
                ("Status", "0xc000006d"),
                ("SubStatus", "0xc000006a"),
            ],
        );
        let t = type_event(&e).expect("typed");
        assert_eq!(t.client.map(|c| c.to_string()).as_deref(), Some("192.168.1.20:50611"));
        assert!(t.summary.contains("wrong password"), "{}", t.summary);
        let wfp = event(
            SECURITY,
            5157,
            &[
                ("SourceAddress", "10.1.1.1"),
                ("SourcePort", "3389"),
                ("DestAddress", "10.2.2.2"),
                ("DestPort", "50000"),
            ],
        );
        assert_eq!(type_event(&wfp).and_then(|t| t.client).map(|c| c.to_string()).as_deref(), Some("10.2.2.2:50000"));
    }

    #[test]
    fn scm_events_only_for_termservice() {
        // Binary of a real 7036 holds "<ServiceKey>/<state>" in UTF-16LE (rdp-facts §4.2)
        let utf16 =
            |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).map(|b| format!("{b:02x}")).collect::<String>();
        let other = event(
            SCM,
            7036,
            &[("param1", "Multimedia Class Scheduler"), ("param2", "running"), ("Binary", &utf16("MMCSS/4"))],
        );
        assert!(type_event(&other).is_none());
        let localized = event(
            SCM,
            7036,
            &[("param1", "Remotedesktopdienste"), ("param2", "Beendet"), ("Binary", &utf16("TermService/1"))],
        );
        let t = type_event(&localized).expect("TermService by key");
        assert_eq!(t.kind, Kind::Service);
    }
}
