//! The one time type: `Ts`, UTC nanoseconds since the Unix epoch.
//!
//! Every input converts its own clock at the edge (pcap µs/ns, pcapng `if_tsresol` and
//! `if_tsoffset`, later FILETIME); everything downstream compares `Ts` values only.
//! Formatting is RFC 3339 in UTC with a caller-chosen number of fractional digits.

use std::fmt;

/// UTC time in nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub i64);

impl Ts {
    /// Builds a time from whole seconds and a fraction given in `units_per_sec` units.
    /// Saturates instead of overflowing on absurd inputs.
    pub fn from_parts(secs: i64, frac: u64, units_per_sec: u64) -> Ts {
        let frac_ns =
            if units_per_sec == 0 { 0 } else { ((frac as u128 * 1_000_000_000u128) / units_per_sec as u128) as i64 };
        Ts(secs.saturating_mul(1_000_000_000).saturating_add(frac_ns))
    }

    /// Builds a time from a count of `units_per_sec` units since the epoch (pcapng style).
    pub fn from_units(units: u64, units_per_sec: u64) -> Ts {
        if units_per_sec == 0 {
            return Ts(0);
        }
        let secs = units / units_per_sec;
        let frac = units % units_per_sec;
        Ts::from_parts(secs as i64, frac, units_per_sec)
    }

    pub fn secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Signed difference `self - earlier` in seconds.
    pub fn since(self, earlier: Ts) -> f64 {
        (self.0.saturating_sub(earlier.0)) as f64 / 1e9
    }

    /// RFC 3339 UTC with `digits` fractional digits (0..=9), e.g. `2026-03-01T10:00:05.123456Z`.
    pub fn rfc3339(self, digits: u8) -> String {
        let digits = digits.min(9) as u32;
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let mut s = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", sod / 3600, (sod / 60) % 60, sod % 60);
        if digits > 0 {
            let frac = nanos / 10i64.pow(9 - digits);
            s.push_str(&format!(".{frac:0width$}", width = digits as usize));
        }
        s.push('Z');
        s
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339(6))
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days` algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // `date -u -d @1700000000` → 2023-11-14T22:13:20Z
        assert_eq!(Ts(1_700_000_000_000_000_000).rfc3339(0), "2023-11-14T22:13:20Z");
        // capinfos of ndpi_rdp.pcap reports first packet 2019-05-30 09:11:05.138576 = 1559207465.138576
        let t = Ts::from_parts(1_559_207_465, 138_576, 1_000_000);
        assert_eq!(t.rfc3339(6), "2019-05-30T09:11:05.138576Z");
        assert_eq!(Ts(0).rfc3339(3), "1970-01-01T00:00:00.000Z");
        assert_eq!(Ts(-1).rfc3339(9), "1969-12-31T23:59:59.999999999Z");
        // leap day
        assert_eq!(Ts(951_782_400 * 1_000_000_000).rfc3339(0), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn units_conversions() {
        assert_eq!(Ts::from_units(1_500, 1_000), Ts(1_500_000_000));
        assert_eq!(Ts::from_units(3, 0), Ts(0));
        // 2^-20 resolution (if_tsresol 0x94): 2^20 units = one second
        assert_eq!(Ts::from_units(1 << 20, 1 << 20), Ts(1_000_000_000));
        assert_eq!(Ts::from_parts(1, 5, 10), Ts(1_500_000_000));
    }
}
