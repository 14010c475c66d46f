//! The event catalogue: which Windows events matter for Remote Desktop failures, what each
//! means, which fields to keep, where its client address is, and the typed facts it carries.
//!
//! One table, `CATALOG` (`table.rs`), keyed by provider name + event id (the channel is only a
//! hint: the same event lands in different channels across Windows builds). `type_event` turns a
//! `WinEvent` into a `TypedEvent` with a kind, an outcome, a one-line summary, the client
//! `ip[:port]` when the event has one (`addr.rs`) and its decoded facts (`facts.rs`: logon type,
//! NTSTATUS, service state, error and reason codes, user, gateway resource, shutdown marker),
//! so that later stages never decode raw fields. Code tables with their references are in
//! `codes.rs`. Service Control Manager events are kept only when they concern Remote Desktop
//! Services (service key "TermService" in the binary data, or the display name).
//!
//! Where the job ends: the catalogue types single events. Joining events to connections is
//! `correlate`, deciding a cause is `diagnose`.
//!
//! References: ../shared/knowledge/rdp-facts.md §4 (event ids, providers, field names, drawn
//! from the providers' manifests and Microsoft's audit-event documentation); field names were
//! checked against the public corpus with evtx_dump 0.15.1 (tests/catalog_corpus.rs).

mod addr;
pub use crate::codes::events as codes;
mod facts;
mod table;

use std::collections::BTreeMap;

use serde::Serialize;

use super::WinEvent;
use crate::time::Ts;

pub use addr::{ClientAddr, parse_addr};
pub use codes::ntstatus_name;
pub use facts::{EventFacts, ServiceState, Shutdown, ShutdownAction, ShutdownKind, utf16_hex_to_string};
pub use table::CATALOG;

pub const SCM: &str = "Service Control Manager";
pub const SCHANNEL: &str = "Schannel";
pub const TERMDD: &str = "TermDD";
pub const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
pub const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager";
pub const CORE: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS";
pub const SECURITY: &str = "Microsoft-Windows-Security-Auditing";
pub const CLIENT: &str = "Microsoft-Windows-TerminalServices-ClientActiveXCore";
pub const LSASRV: &str = "LsaSrv";
/// The RD Gateway role (channel Microsoft-Windows-TerminalServices-Gateway/Operational).
pub const GATEWAY: &str = "Microsoft-Windows-TerminalServices-Gateway";
/// User32 (System): 1074, a process or user started a shutdown or restart.
pub const USER32: &str = "User32";
/// The event log service's own events (System): 6005 started, 6006 stopped, 6008 unexpected.
pub const EVENTLOG: &str = "EventLog";
/// Kernel-General (System): 12 operating system started, 13 shutting down.
pub const KERNEL_GENERAL: &str = "Microsoft-Windows-Kernel-General";

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
    /// Authentication failed (NLA / logon), or an account was locked out.
    AuthFailure,
    /// The server refused after authentication (drain mode, connections disabled, the user may
    /// not log on through Remote Desktop).
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
    /// RD Gateway authorization (RD CAP / RD RAP) and its connections to resources.
    Gateway,
    /// The host started, stopped or restarted (planned or not).
    Shutdown,
}

impl Kind {
    /// The name used in JSON and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Service => "service",
            Kind::TlsCredential => "tls-credential",
            Kind::TlsHandshake => "tls-handshake",
            Kind::Certificate => "certificate",
            Kind::Listener => "listener",
            Kind::Connection => "connection",
            Kind::ProtocolError => "protocol-error",
            Kind::NetworkError => "network-error",
            Kind::AuthSuccess => "auth-success",
            Kind::AuthFailure => "auth-failure",
            Kind::ServerDenied => "server-denied",
            Kind::Licensing => "licensing",
            Kind::Session => "session",
            Kind::Multitransport => "multitransport",
            Kind::Firewall => "firewall",
            Kind::Client => "client",
            Kind::Gateway => "gateway",
            Kind::Shutdown => "shutdown",
        }
    }
}

/// Whether an event reports that something worked or failed. Events that only report a step
/// (a connection arrived, a session was disconnected by the user) have no outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// One catalogue line.
pub struct Entry {
    pub provider: &'static str,
    pub ids: &'static [u16],
    pub kind: Kind,
    /// The outcome the event reports by itself; `facts` refines it from codes (4776 Status,
    /// LSM 40 reason, client 1026 reason).
    pub outcome: Option<Outcome>,
    /// What the event says, in our words.
    pub meaning: &'static str,
    /// The fields worth showing, in order.
    pub fields: &'static [&'static str],
}

/// The catalogue line for a provider and event id.
pub fn lookup(provider: &str, id: u16) -> Option<&'static Entry> {
    CATALOG.iter().find(|e| e.provider.eq_ignore_ascii_case(provider) && e.ids.contains(&id))
}

/// Whether events of this provider and id keep their fields (the `wanted` filter for readers).
pub fn is_catalogued(provider: &str, id: u16) -> bool {
    lookup(provider, id).is_some()
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
    /// The decoded facts (empty ones are left out of the JSON).
    #[serde(skip_serializing_if = "EventFacts::is_empty")]
    pub facts: EventFacts,
}

/// Types a catalogued event; `None` for events outside the catalogue, for Service Control
/// Manager events about other services, for firewall events off the RDP ports and for logons
/// and logoffs of kinds Remote Desktop does not make.
pub fn type_event(e: &WinEvent) -> Option<TypedEvent> {
    let entry = lookup(&e.provider, e.event_id)?;
    if !relevant(entry, e) {
        return None;
    }
    let fields: BTreeMap<String, String> = entry
        .fields
        .iter()
        .filter_map(|f| e.fields.get(f).filter(|v| !v.is_empty()).map(|v| (f.to_string(), v.to_string())))
        .collect();
    let client = addr::client_addr(entry.provider, e.event_id, &e.fields);
    let facts = facts::extract(entry, e);
    let kind = match (entry.provider, e.event_id, facts.outcome) {
        // NTLM validation is one event for both results.
        (SECURITY, 4776, Some(Outcome::Success)) => Kind::AuthSuccess,
        _ => entry.kind,
    };
    let summary = summary(entry, e, &fields, client, &facts);
    Some(TypedEvent {
        ts: e.ts,
        input: e.input.to_string(),
        record_id: e.record_id,
        host: e.computer.to_string(),
        provider: e.provider.to_string(),
        event_id: e.event_id,
        kind,
        summary,
        client,
        activity_id: e.activity_id.clone(),
        fields,
        facts,
    })
}

/// The filters that keep a catalogued provider + id only when it concerns Remote Desktop.
fn relevant(entry: &Entry, e: &WinEvent) -> bool {
    let logon_type = || e.fields.get("LogonType").map(str::trim).unwrap_or("");
    match (entry.provider, e.event_id) {
        (SCM, _) => concerns_termservice(e),
        // Firewall events matter only for RDP traffic (TCP/UDP 3389, RD Gateway UDP 3391).
        (SECURITY, 5152 | 5156 | 5157) => {
            let rdp = |k: &str| e.fields.get(k).is_some_and(|p| matches!(p.trim(), "3389" | "3391"));
            rdp("SourcePort") || rdp("DestPort")
        }
        // Service logons (types 0, 2, 4, 5, 8, 9, 11...) are noise here: Remote Desktop shows
        // as type 10 (RemoteInteractive), 3 (the NLA network logon) and 7 (unlock / reconnect).
        (SECURITY, 4624) => matches!(logon_type(), "3" | "7" | "10"),
        // Logoffs of network logons (type 3) are mostly file sharing and machine accounts: only
        // the end of a RemoteInteractive session says something about Remote Desktop.
        (SECURITY, 4634) => logon_type() == "10",
        _ => true,
    }
}

/// SCM events name the service by its localized display name; the binary data carries the
/// service key name as UTF-16LE ("TermService/1" for stopped in 7036), which is reliable.
fn concerns_termservice(e: &WinEvent) -> bool {
    let key = e.fields.get("Binary").map(utf16_hex_to_string).unwrap_or_default();
    // 7009 has the timeout in param1 and the service in param2.
    let named = |k: &str| {
        e.fields
            .get(k)
            .is_some_and(|n| n.eq_ignore_ascii_case("Remote Desktop Services") || n.eq_ignore_ascii_case("TermService"))
    };
    key.to_ascii_lowercase().starts_with("termservice/") || named("param1") || (e.event_id == 7009 && named("param2"))
}

fn summary(
    entry: &Entry,
    e: &WinEvent,
    fields: &BTreeMap<String, String>,
    client: Option<ClientAddr>,
    facts: &EventFacts,
) -> String {
    let f = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
    let from = client.map(|c| format!(" from {c}")).unwrap_or_default();
    let user = facts.user.as_deref().unwrap_or("-");
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
        (SECURITY, 4776) => {
            format!(
                "NTLM credential validation for {user} from workstation {}: status {} ({})",
                f("Workstation"),
                f("Status"),
                ntstatus_name(f("Status"))
            )
        }
        (SECURITY, 4825) => format!("{user} was denied access to Remote Desktop{from}: not allowed to log on remotely"),
        (SECURITY, 4740) => format!("account {user} was locked out (logon attempts from {})", f("TargetDomainName")),
        (CORE, 131) => format!("server accepted a new {} connection{from}", f("ConnType")),
        (RCM, 1149) => format!("user authentication succeeded for {}\\{}{from}", f("Param2"), f("Param1")),
        (LSM, 40) => match facts.reason.and_then(codes::SessionDisconnectReason::from_code) {
            Some(r) => format!("session {} disconnected: reason {} ({})", f("Session"), r.code(), r.meaning()),
            None => format!("session {} disconnected: reason {}", f("Session"), f("Reason")),
        },
        (GATEWAY, _) => {
            let to = facts.resource.as_deref().map(|r| format!(" to {r}")).unwrap_or_default();
            let err = facts.error_code.filter(|c| *c != 0).map(|c| format!(" (error {c})")).unwrap_or_default();
            format!("{}: user {user}{from}{to}{err}", entry.meaning)
        }
        (SCHANNEL, 36887 | 36888) => format!("{}: alert {}", entry.meaning, f("AlertDesc")),
        (CLIENT, 1026) => format!("client disconnected, reason {}", f("Value")),
        (USER32, 1074) => {
            format!("{} asked for a {} by {}: {} ({})", f("param1"), f("param5"), f("param7"), f("param3"), f("param4"))
        }
        (EVENTLOG, 6008) => format!("{} (at {} {})", entry.meaning, f("Data1"), f("Data2")),
        _ => {
            // Address fields are already in "from <client>"; binary data is not for reading.
            const HIDDEN: [&str; 8] =
                ["Binary", "IPString", "ClientIP", "IpAddress", "IpPort", "Address", "ClientAddress", "Data2"];
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
mod tests;
