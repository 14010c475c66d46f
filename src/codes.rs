//! The code tables every part of rdplog shares: what the numbers a Remote Desktop failure leaves
//! behind are called and mean. `wire` has the codes read off the network (security protocols,
//! RDP_NEG_FAILURE, TLS alerts and versions); `windows` the client's (disconnect reasons,
//! extended reasons, ERRINFO, SSPI / HRESULT); `events` the ones catalogued events carry
//! (NTSTATUS, LSM 40 reasons, the server's HRESULTs). This module looks a number up in all of them (`meanings`) and parses the
//! forms numbers are written in (`parse_code`).
//!
//! Used by `rdplog explain` (`explain`), the reports' decoded codes (`report::codes`), the
//! parsers (through `rdp::codes`) and the diagnosis. Ends at names and meanings: which code to
//! show for a connection, and how, is the caller's business.

pub mod windows;
pub mod wire;

pub mod events;

use wire::{NegFailureCode, TlsAlert};

/// One decoded meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meaning {
    pub table: &'static str,
    pub name: String,
    pub text: String,
}

fn look(table: &'static str, list: &[windows::Entry], v: u32, out: &mut Vec<Meaning>) {
    if let Some((_, name, text)) = windows::find(list, v) {
        out.push(Meaning { table, name: name.to_string(), text: text.to_string() });
    }
}

/// Parses "0x904", "0X904", "904h" as hexadecimal and "2308" as decimal.
pub fn parse_code(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).or_else(|| s.strip_suffix('h')) {
        return u32::from_str_radix(h, 16).ok();
    }
    s.parse::<u32>().ok().or_else(|| s.parse::<i32>().ok().map(|v| v as u32))
}

/// Every meaning the number has, table by table: a number is looked up in every table it could
/// belong to, so `0x7` answers both "extended reason 7" and "ERRINFO 7".
pub fn meanings(v: u32) -> Vec<Meaning> {
    let mut out = Vec::new();
    look("client disconnect reason", windows::DISCONNECT, v, &mut out);
    look("extended disconnect reason", windows::EXTENDED, v, &mut out);
    look("ERRINFO (Set Error Info PDU)", windows::ERRINFO, v, &mut out);
    if (1..=12).contains(&v) {
        look("ERRINFO (Set Error Info PDU)", windows::EXTENDED, v, &mut out);
    }
    if let Some(name) = NegFailureCode(v).name() {
        out.push(Meaning {
            table: "RDP_NEG_FAILURE code",
            name: name.into(),
            text: NegFailureCode(v).meaning().into(),
        });
    }
    if let Ok(b) = u8::try_from(v) {
        if let Some(name) = TlsAlert(b).name() {
            out.push(Meaning { table: "TLS alert", name: name.into(), text: format!("TLS alert description {v}") });
        }
    }
    if let Some(st) = events::ntstatus(v).filter(|st| st.code != 0) {
        out.push(Meaning {
            table: "NTSTATUS (Security 4625 Status / SubStatus)",
            name: format!("0x{v:08X}"),
            text: st.meaning.into(),
        });
    }
    // TermDD 56 stores NTSTATUS as an HRESULT-like value: 0xD000xxxx stands for 0xC000xxxx.
    if v & 0xF000_0000 == 0xD000_0000 {
        let st = v & 0x0FFF_FFFF | 0xC000_0000;
        out.push(Meaning {
            table: "TermDD NTSTATUS (D → C)",
            name: format!("0x{st:08X}"),
            text: events::ntstatus(st).map_or("unknown", |st| st.meaning).into(),
        });
    }
    look("SSPI / HRESULT", windows::SSPI, v, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_pair() {
        // rdp-facts §1.1: 2308 = 0x904 disconnectReasonAtClientWinsockFDCLOSE; §1.2: 7 = ServerDeniedConnection
        assert_eq!(parse_code("0x904"), Some(2308));
        assert_eq!(parse_code("2308"), Some(2308));
        assert_eq!(parse_code("904h"), Some(2308));
        assert_eq!(parse_code("zz"), None);
        assert!(meanings(2308).iter().any(|m| m.name == "AtClientWinsockFDCLOSE"));
        let seven = meanings(7);
        assert!(seven.iter().any(|m| m.table.starts_with("extended") && m.name == "ServerDeniedConnection"));
        assert!(seven.iter().any(|m| m.table.starts_with("ERRINFO")));
    }

    #[test]
    fn other_tables() {
        assert!(meanings(0xC000006A).iter().any(|m| m.text == "wrong password"));
        assert!(meanings(0x8009030D).iter().any(|m| m.name == "SEC_E_UNKNOWN_CREDENTIALS"));
        assert!(meanings(70).iter().any(|m| m.table == "TLS alert" && m.name == "protocol_version"));
        assert!(meanings(5).iter().any(|m| m.name == "HYBRID_REQUIRED_BY_SERVER"));
        assert!(meanings(0xD0000184).iter().any(|m| m.name == "0xC0000184"));
        let termdd = meanings(0xD000006A);
        assert!(termdd.iter().any(|m| m.name == "0xC000006A" && m.text == "wrong password"), "{termdd:?}");
        // STATUS_SUCCESS is in the NTSTATUS table but means nothing to explain.
        assert!(meanings(0).iter().all(|m| !m.table.starts_with("NTSTATUS")));
    }
}
