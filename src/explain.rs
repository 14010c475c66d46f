//! `rdplog explain <code>`: decodes the numbers a Remote Desktop failure leaves behind, offline:
//! client disconnect reasons, extended reasons, ERRINFO, RDP_NEG_FAILURE codes, TLS alerts,
//! NTSTATUS / 4625 sub-status values and SSPI errors.
//!
//! The tables and the look-up are `crate::codes` (shared with the reports); this module only
//! turns the user's text into a number and the meanings into the lines the command prints.

pub use crate::codes::{Meaning, meanings as explain, parse_code};

/// The text `rdplog explain` prints.
pub fn render(input: &str) -> Result<String, String> {
    let v =
        parse_code(input).ok_or_else(|| format!("{input:?} is not a number (decimal like 2308, or hex like 0x904)"))?;
    let found = explain(v);
    let mut s = format!("{input} = {v} = 0x{v:X}\n");
    if found.is_empty() {
        s.push_str("  not in any table rdplog knows (client disconnect reasons, extended reasons, ERRINFO, RDP_NEG_FAILURE, TLS alerts, NTSTATUS, SSPI)\n");
    }
    for m in found {
        s.push_str(&format!("  {}: {} — {}\n", m.table, m.name, m.text));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_meaning() {
        let text = render("0x904").unwrap();
        assert!(text.starts_with("0x904 = 2308 = 0x904\n"), "{text}");
        assert!(text.contains("client disconnect reason: AtClientWinsockFDCLOSE — "), "{text}");
        assert!(render("0xFFFFFFF").unwrap().contains("not in any table"));
        assert!(render("0x1").is_ok() && render("nope").is_err());
    }
}
