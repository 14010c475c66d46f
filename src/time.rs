//! The one time type: `Ts`, UTC nanoseconds since the Unix epoch, and the one calendar: `jiff`.
//!
//! Every input converts its own clock at the edge (pcap µs/ns, pcapng `if_tsresol` and
//! `if_tsoffset`, FILETIME); everything downstream compares `Ts` values only. Formatting is
//! RFC 3339 in UTC with a caller-chosen number of fractional digits; parsing takes the RFC 3339
//! times Windows writes. Both go through `jiff`, as does every date computation in the crate
//! (FILETIME text, SYSTEMTIME); only the FILETIME → `Ts` shift (`events::filetime_to_ts`) is plain
//! arithmetic, since it needs no calendar. Time zones other than fixed offsets are not handled.

use std::borrow::Cow;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::fmt::temporal::Pieces;
use jiff::tz::Offset;

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

    /// RFC 3339 UTC with `digits` fractional digits (0..=9, truncated), e.g.
    /// `2026-03-01T10:00:05.123456Z`.
    pub fn rfc3339(self, digits: u8) -> String {
        format!("{:.prec$}", self.to_timestamp(), prec = usize::from(digits.min(9)))
    }

    /// The same instant as a `jiff::Timestamp` (every `i64` nanosecond count is within its range).
    pub fn to_timestamp(self) -> Timestamp {
        Timestamp::from_nanosecond(i128::from(self.0)).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// Parses an RFC 3339 time (see `parse_rfc3339`) into `Ts`, saturating outside its range.
    pub fn parse_rfc3339(s: &str) -> Option<Ts> {
        let ns = parse_rfc3339(s)?;
        Some(Ts(i64::try_from(ns).unwrap_or(if ns < 0 { i64::MIN } else { i64::MAX })))
    }
}

/// 1970-01-01T00:00:00 as a civil time.
const UNIX_EPOCH: DateTime = DateTime::constant(1970, 1, 1, 0, 0, 0, 0);

/// RFC 3339 time as Windows writes it (`2021-02-12T12:33:11.1234567Z`), through jiff's parser,
/// as nanoseconds since the Unix epoch (any year jiff reads, -9999 to 9999, so that callers
/// choose how to saturate). `T`, `t` or a space between date and time, fractional digits beyond
/// nine ignored, `Z` or an offset, and a missing offset taken as UTC. jiff also takes the ISO 8601
/// forms it knows (`+0200`, basic format, minutes without seconds); a leap second `:60` reads as
/// `:59`. A date without a time is refused.
pub fn parse_rfc3339(s: &str) -> Option<i128> {
    let text = without_extra_digits(s.trim());
    let pieces = Pieces::parse(text.as_bytes()).ok()?;
    let local = utc_nanos(pieces.date().to_datetime(pieces.time()?));
    let offset = pieces.to_numeric_offset().unwrap_or(Offset::UTC);
    Some(local - i128::from(offset.seconds()) * 1_000_000_000)
}

/// Nanoseconds since the Unix epoch of a civil time taken as UTC (any year jiff knows).
pub fn utc_nanos(dt: DateTime) -> i128 {
    dt.duration_since(UNIX_EPOCH).as_nanos()
}

/// `s` with fractional-second digits beyond the ninth dropped (jiff stops at nanoseconds).
fn without_extra_digits(s: &str) -> Cow<'_, str> {
    if !matches!(s.as_bytes().get(19), Some(b'.' | b',')) {
        return Cow::Borrowed(s);
    }
    let digits = s.as_bytes()[20..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits <= 9 {
        return Cow::Borrowed(s);
    }
    Cow::Owned(format!("{}{}", &s[..29], &s[20 + digits..]))
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339(6))
    }
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

    fn ts(s: &str) -> Ts {
        Ts::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn time_edge_cases() {
        let base = 1_613_133_191i64 * 1_000_000_000; // 2021-02-12T12:33:11Z
        assert_eq!(ts("2021-02-12T12:33:11.1234567Z"), Ts(base + 123_456_700));
        assert_eq!(ts("2021-02-12T12:33:11.5Z"), Ts(base + 500_000_000));
        assert_eq!(ts("2021-02-12T12:33:11.123456789123Z"), Ts(base + 123_456_789));
        assert_eq!(ts("2021-02-12T12:33:11Z"), Ts(base));
        assert_eq!(ts("2021-02-12T12:33:11+00:00"), Ts(base));
        assert_eq!(ts("2021-02-12t14:33:11.000+02:00"), Ts(base));
        assert_eq!(ts("2021-02-12T07:03:11-05:30"), Ts(base));
        assert_eq!(ts(" 2021-02-12T12:33:11 "), Ts(base));
        assert_eq!(ts("1970-01-01T00:00:00Z"), Ts(0));
        assert_eq!(ts("1601-01-01T00:00:00Z"), crate::events::filetime_to_ts(0));
        assert_eq!(ts("2000-02-29T00:00:00Z").rfc3339(0), "2000-02-29T00:00:00Z");
        assert_eq!(ts("2024-12-31T23:59:59.9999999Z").rfc3339(7), "2024-12-31T23:59:59.9999999Z");
        // ISO 8601 forms jiff also reads; a leap second reads as :59.
        assert_eq!(ts("2021-02-12T14:33:11+0200"), Ts(base));
        assert_eq!(ts("2021-02-12T12:33Z"), Ts(base - 11_000_000_000));
        assert_eq!(ts("2016-12-31T23:59:60Z").rfc3339(0), "2016-12-31T23:59:59Z");
        for bad in [
            "",
            "2021-02-12",
            "2021-02-30T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2021-13-01T00:00:00Z",
            "2021-00-01T00:00:00Z",
            "2021-02-12T24:00:00Z",
            "2021-02-12T12:33:11.Z",
            "2021-02-12T12:33:11Zjunk",
            "2021-02-12T12:33:1xZ",
            "２０２１-02-12T12:33:11Z",
        ] {
            assert_eq!(Ts::parse_rfc3339(bad), None, "{bad}");
        }
    }
}
