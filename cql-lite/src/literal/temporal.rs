//! Timestamps, dates and times: the text Cassandra accepts for them and the text CQL
//! literals and cqlsh print. Calendar arithmetic is proleptic Gregorian, in UTC.

use crate::value::{DATE_EPOCH, NANOS_PER_DAY};

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`).
pub(super) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
pub(super) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A cursor over ASCII text for the small fixed grammars below.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.bytes.get(self.pos) == Some(&c);
        self.pos += usize::from(hit);
        hit
    }

    /// Between `min` and `max` digits as a number.
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.pos;
        while self.pos - start < max && self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        if self.pos - start < min {
            return None;
        }
        let digits = std::str::from_utf8(&self.bytes[start..self.pos]).ok()?;
        digits.parse().ok()
    }

    fn rest(&self) -> &[u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    fn done(&self) -> bool {
        self.pos >= self.bytes.len()
    }
}

/// `yyyy-mm-dd`, checked, as days since the epoch.
fn date_part(cur: &mut Cursor<'_>, two_digit: bool) -> Option<i64> {
    let year = cur.number(4, 4)?;
    let min = if two_digit { 2 } else { 1 };
    if !cur.eat(b'-') {
        return None;
    }
    let month = cur.number(min, 2)?;
    if !cur.eat(b'-') {
        return None;
    }
    let day = cur.number(min, 2)?;
    let year = i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Accepts what Cassandra's `TimestampSerializer` does, with the zone optional:
/// `yyyy-mm-dd`, then optionally ` hh:mm` or `Thh:mm`, `:ss`, `.f` (1 to 9 digits, a
/// fraction of a second truncated to milliseconds), then optionally a zone (`Z`, `UTC`,
/// `GMT`, `+hh`, `+hhmm`, `+hh:mm`, or with `-`), possibly after a space. Without a zone
/// the time is UTC: Cassandra would use the node's zone, and Basalt's nodes run in UTC.
/// Returns milliseconds since the epoch.
pub(super) fn parse_timestamp(text: &str) -> Option<i64> {
    let mut cur = Cursor {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let days = date_part(&mut cur, false)?;
    let mut millis = 0i64;
    let at = cur.pos;
    if (cur.eat(b' ') || cur.eat(b'T')) && cur.bytes.get(cur.pos).is_some_and(u8::is_ascii_digit) {
        millis = time_of_day_millis(&mut cur)?;
    } else {
        cur.pos = at;
    }
    let offset_minutes = zone(&mut cur)?;
    if !cur.done() {
        return None;
    }
    Some(days * MILLIS_PER_DAY + millis - offset_minutes * 60_000)
}

/// `hh:mm[:ss[.f]]` as milliseconds into the day.
fn time_of_day_millis(cur: &mut Cursor<'_>) -> Option<i64> {
    let hour = cur.number(1, 2)?;
    if !cur.eat(b':') {
        return None;
    }
    let minute = cur.number(1, 2)?;
    let mut second = 0;
    let mut millis = 0;
    if cur.eat(b':') {
        second = cur.number(1, 2)?;
        if cur.eat(b'.') {
            let start = cur.pos;
            let fraction = cur.number(1, 9)?;
            let len = cur.pos - start;
            millis = u64::from(fraction) * 10u64.pow(9 - len as u32) / 1_000_000;
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let seconds = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    Some(seconds * 1000 + i64::try_from(millis).ok()?)
}

/// An optional zone suffix, as minutes east of UTC; `None` if malformed.
fn zone(cur: &mut Cursor<'_>) -> Option<i64> {
    if cur.done() {
        return Some(0);
    }
    cur.eat(b' ');
    let rest = cur.rest();
    for name in [&b"UTC"[..], b"GMT", b"Z"] {
        if rest == name {
            cur.pos += name.len();
            return Some(0);
        }
    }
    let sign = if cur.eat(b'+') {
        1
    } else if cur.eat(b'-') {
        -1
    } else {
        return None;
    };
    let hours = cur.number(2, 2)?;
    let colon = cur.eat(b':');
    let minutes = if colon || !cur.done() {
        cur.number(2, 2)?
    } else {
        0
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (i64::from(hours) * 60 + i64::from(minutes)))
}

/// `yyyy-mm-dd` (ISO, strict: two-digit month and day) as a `date` value.
pub(super) fn parse_date(text: &str) -> Option<u32> {
    let mut cur = Cursor {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let days = date_part(&mut cur, true)?;
    if !cur.done() {
        return None;
    }
    // Four-digit years are always within the 32-bit range around the epoch.
    u32::try_from(days + i64::from(DATE_EPOCH)).ok()
}

/// `hh:mm:ss[.fffffffff]` (surrounding spaces ignored) as nanoseconds since midnight.
pub(super) fn parse_time(text: &str) -> Option<i64> {
    let mut cur = Cursor {
        bytes: text.trim().as_bytes(),
        pos: 0,
    };
    let hour = cur.number(1, 2)?;
    if !cur.eat(b':') {
        return None;
    }
    let minute = cur.number(1, 2)?;
    if !cur.eat(b':') {
        return None;
    }
    let second = cur.number(1, 2)?;
    let mut nanos = 0i64;
    if cur.eat(b'.') {
        let start = cur.pos;
        let fraction = cur.number(1, 9)?;
        let len = (cur.pos - start) as u32;
        nanos = i64::from(fraction) * 10i64.pow(9 - len);
    }
    if !cur.done() || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let seconds = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    Some(seconds * 1_000_000_000 + nanos)
}

/// The calendar fields of a timestamp: (year, month, day, ms into the day).
fn split_timestamp(millis: i64) -> (i64, u32, u32, i64) {
    let (year, month, day) = civil_from_days(millis.div_euclid(MILLIS_PER_DAY));
    (year, month, day, millis.rem_euclid(MILLIS_PER_DAY))
}

fn hms(ms_of_day: i64) -> (i64, i64, i64, i64) {
    let seconds = ms_of_day / 1000;
    (
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        ms_of_day % 1000,
    )
}

/// A timestamp as a CQL literal: `'yyyy-mm-ddThh:mm:ss.fffZ'` for years 1 to 9999,
/// else the bare milliseconds (which Cassandra also reads as a timestamp).
pub(super) fn timestamp_literal(millis: i64) -> String {
    let (year, month, day, ms) = split_timestamp(millis);
    if !(1..=9999).contains(&year) {
        return millis.to_string();
    }
    let (h, m, s, f) = hms(ms);
    format!("'{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{f:03}Z'")
}

/// A timestamp as cqlsh prints it: `yyyy-mm-dd hh:mm:ss.ffffff+0000`; outside years 1
/// to 9999 (Python's `datetime` range) the milliseconds.
pub(super) fn timestamp_cqlsh(millis: i64) -> String {
    let (year, month, day, ms) = split_timestamp(millis);
    if !(1..=9999).contains(&year) {
        return millis.to_string();
    }
    let (h, m, s, f) = hms(ms);
    format!(
        "{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}.{:06}+0000",
        f * 1000
    )
}

/// A `date` as `yyyy-mm-dd`, or `None` outside years `min_year` to 9999.
pub(super) fn date_text(date: u32, min_year: i64) -> Option<String> {
    let days = i64::from(date) - i64::from(DATE_EPOCH);
    let (year, month, day) = civil_from_days(days);
    (min_year..=9999)
        .contains(&year)
        .then(|| format!("{year:04}-{month:02}-{day:02}"))
}

/// A `time` as `hh:mm:ss.fffffffff` (values outside a day are reduced into it).
pub(super) fn time_text(nanos: i64) -> String {
    let nanos = nanos.rem_euclid(NANOS_PER_DAY);
    let seconds = nanos / 1_000_000_000;
    format!(
        "{:02}:{:02}:{:02}.{:09}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        nanos % 1_000_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips() {
        for days in [
            -719_468,
            -1,
            0,
            1,
            19_724,
            2_932_896,
            -25_000_000,
            25_000_000,
        ] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{days}");
        }
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
    }

    #[test]
    fn timestamps_in_every_accepted_form() {
        let base = 1_704_164_645_000; // 2024-01-02 03:04:05 UTC
        for text in [
            "2024-01-02 03:04:05",
            "2024-01-02T03:04:05",
            "2024-01-02T03:04:05Z",
            "2024-01-02 03:04:05 UTC",
            "2024-01-02 03:04:05.000",
            "2024-01-02 03:04:05.000000+0000",
            "2024-01-02T04:04:05+01:00",
            "2024-01-02T04:04:05+01",
            "2024-01-02 02:04:05 -0100",
            "2024-1-2 3:4:5",
        ] {
            assert_eq!(parse_timestamp(text), Some(base), "{text}");
        }
        assert_eq!(parse_timestamp("2024-01-02 03:04"), Some(base - 5000));
        assert_eq!(parse_timestamp("2024-01-02 03:04:05.5"), Some(base + 500));
        assert_eq!(
            parse_timestamp("2024-01-02 03:04:05.123456"),
            Some(base + 123)
        );
        assert_eq!(parse_timestamp("1970-01-01"), Some(0));
        assert_eq!(parse_timestamp("1970-01-01Z"), Some(0));
        assert_eq!(parse_timestamp("1970-01-01 +0100"), Some(-3_600_000));
        for bad in [
            "",
            "2024-13-01",
            "2023-02-29",
            "2024-01-02 24:00",
            "2024-01-02 03:04:05.",
            "2024-01-02 03:04:05 PST",
            "2024-01-02 03:04:05+1",
            "2024-01-02 03",
            "24-01-02",
            "2024-01-02x",
            "2024-01-02 03:04:05.1234567890",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(parse_date("1970-01-01"), Some(DATE_EPOCH));
        assert_eq!(parse_date("1969-12-31"), Some(DATE_EPOCH - 1));
        assert_eq!(parse_date("1970-1-01"), None);
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_time("03:04:05"), Some(11_045_000_000_000));
        assert_eq!(parse_time(" 03:04:05.5 "), Some(11_045_500_000_000));
        assert_eq!(parse_time("23:59:59.999999999"), Some(NANOS_PER_DAY - 1));
        assert_eq!(parse_time("24:00:00"), None);
        assert_eq!(parse_time("03:04"), None);
        assert_eq!(parse_time("03:04:05."), None);
        assert_eq!(parse_time("03:04:05.1234567890"), None);
        assert_eq!(time_text(11_045_000_000_001), "03:04:05.000000001");
        assert_eq!(date_text(DATE_EPOCH, 1).as_deref(), Some("1970-01-01"));
        assert_eq!(date_text(0, 1), None);
    }

    #[test]
    fn timestamp_texts() {
        assert_eq!(
            timestamp_literal(1_704_164_645_123),
            "'2024-01-02T03:04:05.123Z'"
        );
        assert_eq!(
            timestamp_cqlsh(1_704_164_645_123),
            "2024-01-02 03:04:05.123000+0000"
        );
        assert_eq!(timestamp_literal(-1), "'1969-12-31T23:59:59.999Z'");
        assert_eq!(timestamp_literal(i64::MIN), i64::MIN.to_string());
        assert_eq!(timestamp_cqlsh(i64::MAX), i64::MAX.to_string());
    }
}
