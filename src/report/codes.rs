//! Decoded codes for the report: every number a connection or its events carry, shown with its
//! hex and decimal value, its name and what it means.
//!
//! Takes a connection, the Windows events joined to it and the verdict's client-code text;
//! produces `Code` lines. Names and meanings all come from the shared tables in `crate::codes`;
//! this module picks which table a number is read in (`EVENT_FIELDS`). Does not escape or redact.

use crate::codes::wire::{NegFailureCode, Protocols, TlsAlert};
use crate::codes::{Meaning, meanings, parse_code};
use crate::connection::Connection;
use crate::diagnose::rules::ClientCode;
use crate::events::catalog::{CLIENT, CORE, SCHANNEL, SECURITY, TypedEvent};

/// One decoded code.
#[derive(Clone, Debug, PartialEq)]
pub struct Code {
    /// Where the number was found, e.g. "RDP_NEG_FAILURE" or "Security 4625 SubStatus".
    pub what: String,
    /// The raw value; `None` when the code is not a single number (ICMP type/code).
    pub value: Option<u64>,
    pub name: String,
    pub meaning: String,
}

impl Code {
    /// `0x5 = 5`, or empty without a value.
    pub fn number(&self) -> String {
        match self.value {
            Some(v) if v > 0xffff => format!("0x{v:08X} = {v}"),
            Some(v) => format!("0x{v:X} = {v}"),
            None => String::new(),
        }
    }
}

/// The first meaning from a table whose name starts with one of `tables`.
fn pick(v: u32, tables: &[&str]) -> Option<Meaning> {
    let all = meanings(v);
    tables.iter().find_map(|t| all.iter().find(|m| m.table.starts_with(t)).cloned())
}

/// The client codes a cause produces, decoded: disconnect reasons, then extended reasons.
pub fn client_codes(code: &ClientCode) -> Vec<Code> {
    let disconnect = code.disconnect.iter().map(|v| (*v, "client disconnect", "client disconnect reason"));
    let extended = code.extended.iter().map(|v| (*v, "extended", "extended disconnect reason"));
    disconnect
        .chain(extended)
        .filter_map(|(v, table, what)| {
            pick(v, &[table]).map(|m| Code { what: what.into(), value: Some(v.into()), name: m.name, meaning: m.text })
        })
        .collect()
}

/// Numbers in event fields worth decoding: (provider, field, tables to look in).
const EVENT_FIELDS: &[(&str, &str, &[&str])] = &[
    (SECURITY, "Status", &["NTSTATUS"]),
    (SECURITY, "SubStatus", &["NTSTATUS"]),
    (CLIENT, "Value", &["client disconnect"]),
    (CORE, "ErrorCode", &["SSPI", "NTSTATUS"]),
    (CORE, "ResultCode", &["SSPI", "NTSTATUS"]),
    (CORE, "ReasonCode", &["ERRINFO", "extended"]),
    (SCHANNEL, "ErrorCode", &["SSPI", "NTSTATUS"]),
    (SCHANNEL, "ErrorStatus", &["SSPI", "NTSTATUS"]),
    (CLIENT, "ErrorCode", &["SSPI", "NTSTATUS"]),
];

/// Every code of one connection: negotiation, TLS alerts, ICMP errors, and its events' fields.
pub fn connection_codes(c: &Connection, events: &[&TypedEvent]) -> Vec<Code> {
    let mut out = Vec::new();
    let n = &c.negotiation;
    if let Some(v) = n.requested_protocols {
        let p = Protocols(v);
        out.push(Code {
            what: "requested protocols (RDP_NEG_REQ)".into(),
            value: Some(v.into()),
            name: p.names(),
            meaning: p.meaning(),
        });
    }
    if let Some(v) = n.selected_protocol {
        let p = Protocols(v);
        out.push(Code {
            what: "selected protocol (RDP_NEG_RSP)".into(),
            value: Some(v.into()),
            name: p.names(),
            meaning: p.meaning(),
        });
    }
    if let Some(v) = n.failure_code {
        let f = NegFailureCode(v);
        out.push(Code {
            what: "RDP_NEG_FAILURE".into(),
            value: Some(v.into()),
            name: f.to_string(),
            meaning: f.meaning().into(),
        });
    }
    for a in c.tls.iter().flat_map(|t| &t.alerts) {
        if a.alert.encrypted {
            continue;
        }
        let level = if a.alert.level == 2 { "fatal" } else { "warning" };
        out.push(Code {
            what: format!("{level} TLS alert from the {}", a.sender),
            value: Some(a.alert.description.into()),
            name: TlsAlert(a.alert.description).to_string(),
            meaning: TlsAlert(a.alert.description).meaning().into(),
        });
    }
    let icmp = c.tcp.iter().flat_map(|t| &t.icmp).chain(c.udp.iter().flat_map(|u| &u.icmp));
    for e in icmp {
        let mtu = e.mtu.map(|m| format!(" (next-hop MTU {m})")).unwrap_or_default();
        out.push(Code {
            what: format!("ICMP type {} code {}", e.icmp_type, e.code),
            value: None,
            name: e.kind.as_str().into(),
            meaning: format!("{} answered for the path{mtu}", e.from),
        });
    }
    for e in events {
        for (provider, field, tables) in EVENT_FIELDS {
            if e.provider != *provider {
                continue;
            }
            let Some(raw) = e.fields.get(*field) else { continue };
            let Some(v) = parse_code(raw).filter(|v| *v != 0) else { continue };
            let what = format!("{} {} {field}", crate::timeline::short_provider(&e.provider), e.event_id);
            if let Some(m) = pick(v, tables) {
                // NTSTATUS values have no symbolic name in our table: the table is the name.
                let name = if m.name.starts_with("0x") { "NTSTATUS".to_string() } else { m.name };
                let code = Code { what, value: Some(v.into()), name, meaning: m.text };
                if !out.contains(&code) {
                    out.push(code);
                }
            }
        }
        if e.provider == SCHANNEL && matches!(e.event_id, 36887 | 36888) {
            if let Some(d) = e.fields.get("AlertDesc").and_then(|s| s.trim().parse::<u8>().ok()) {
                out.push(Code {
                    what: format!("Schannel {} AlertDesc", e.event_id),
                    value: Some(d.into()),
                    name: TlsAlert(d).to_string(),
                    meaning: TlsAlert(d).meaning().into(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Cause;

    #[test]
    fn client_code_text() {
        // The certificate rule's codes: "0x904 (2308), extended 0 or 7".
        let rule = |c| crate::diagnose::rules::rule(c).map(|r| &r.client_code).expect("a rule");
        let codes = client_codes(rule(Cause::Certificate));
        let names: Vec<&str> = codes.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["AtClientWinsockFDCLOSE", "NoInfo", "ServerDeniedConnection"]);
        assert_eq!(codes[0].number(), "0x904 = 2308");
        // "0xB09 (2825) when NLA is required, else 0x904 (2308)".
        let two = client_codes(rule(Cause::SecurityNegotiation));
        assert_eq!(two.len(), 2);
        assert!(client_codes(rule(Cause::None)).is_empty());
    }
}
