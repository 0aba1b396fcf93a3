//! Duration text, as Cassandra's `Duration.from` reads it and `Duration.toString`
//! writes it.

use crate::value::Duration;

const NANOS_PER_MICRO: i64 = 1_000;
const NANOS_PER_MILLI: i64 = 1_000_000;
const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: i64 = 60 * NANOS_PER_MINUTE;

/// The units in the order they must appear: name, which field, and how many of that
/// field's units one is worth.
const UNITS: [(&str, Field, i64); 10] = [
    ("years", Field::Months, 12),
    ("months", Field::Months, 1),
    ("weeks", Field::Days, 7),
    ("days", Field::Days, 1),
    ("hours", Field::Nanos, NANOS_PER_HOUR),
    ("minutes", Field::Nanos, NANOS_PER_MINUTE),
    ("seconds", Field::Nanos, NANOS_PER_SECOND),
    ("milliseconds", Field::Nanos, NANOS_PER_MILLI),
    ("microseconds", Field::Nanos, NANOS_PER_MICRO),
    ("nanoseconds", Field::Nanos, 1),
];

#[derive(Clone, Copy)]
enum Field {
    Months,
    Days,
    Nanos,
}

/// Cassandra's `Duration.Builder`: units in order, each once, totals in range.
#[derive(Default)]
struct Builder {
    months: i64,
    days: i64,
    nanos: i64,
    /// 1-based index in [`UNITS`] of the last unit added; 0 before any.
    last: usize,
}

impl Builder {
    /// Adds `count` of unit `index` (0-based in [`UNITS`]); `count` is `None` when its
    /// digits overflowed a long.
    fn add(&mut self, index: usize, count: Option<i64>) -> Result<(), String> {
        let (name, field, per) = UNITS[index];
        let unit = index + 1;
        if unit == self.last {
            return Err(format!(
                "Invalid duration. The {name} are specified multiple times"
            ));
        }
        if unit < self.last {
            let previous = UNITS[self.last - 1].0;
            return Err(format!(
                "Invalid duration. The {previous} should be after {name}"
            ));
        }
        self.last = unit;
        let (total, limit, field_name) = match field {
            Field::Months => (&mut self.months, i64::from(i32::MAX), "months"),
            Field::Days => (&mut self.days, i64::from(i32::MAX), "days"),
            Field::Nanos => (&mut self.nanos, i64::MAX, "nanoseconds"),
        };
        match count {
            Some(n) if n <= (limit - *total) / per => {
                *total += n * per;
                Ok(())
            }
            // Cassandra names the int limit here even for nanoseconds.
            _ => Err(format!(
                "Invalid duration. The total number of {field_name} must be less or equal to {}",
                i32::MAX
            )),
        }
    }

    fn build(self, negative: bool) -> Duration {
        let sign = if negative { -1 } else { 1 };
        // The limits above keep every total in its field's range.
        Duration {
            months: i32::try_from(self.months * sign).unwrap_or(0),
            days: i32::try_from(self.days * sign).unwrap_or(0),
            nanoseconds: self.nanos * sign,
        }
    }
}

/// Parses a duration: `[-]` then the unit form (`1y2mo3w4d5h6m7s8ms9us10ns`, `µs` for
/// `us`, units case-insensitive), the ISO 8601 form `P[n]Y[n]M[n]DT[n]H[n]M[n]S`, the
/// week form `P[n]W` or the alternative form `Pyyyy-mm-ddThh:mm:ss`. The error is
/// Cassandra's message.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let (negative, source) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let unable = || format!("Unable to convert '{source}' to a duration");
    let mut builder = Builder::default();
    if let Some(iso) = source.strip_prefix(['P', 'p']) {
        iso_form(&mut builder, iso)?.ok_or_else(unable)?;
    } else {
        unit_form(&mut builder, source)?.ok_or_else(unable)?;
    }
    Ok(builder.build(negative))
}

/// Splits a run of leading ASCII digits off `text`: its value (`None` past a long) and
/// the rest. Returns `None` when no digit leads.
fn leading_number(text: &str) -> Option<(Option<i64>, &str)> {
    let end = text.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 {
        return None;
    }
    Some((text[..end].parse().ok(), &text[end..]))
}

/// The unit form. `Ok(None)` if it does not match; `Err` for Builder errors.
fn unit_form(builder: &mut Builder, source: &str) -> Result<Option<()>, String> {
    const SYMBOLS: [(&str, usize); 11] = [
        ("mo", 1),
        ("ms", 7),
        ("us", 8),
        ("µs", 8),
        ("ns", 9),
        ("y", 0),
        ("w", 2),
        ("d", 3),
        ("h", 4),
        ("m", 5),
        ("s", 6),
    ];
    let mut rest = source;
    if rest.is_empty() {
        return Ok(None);
    }
    while !rest.is_empty() {
        let Some((count, after)) = leading_number(rest) else {
            return Ok(None);
        };
        let starts = |symbol: &str| {
            after
                .as_bytes()
                .get(..symbol.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(symbol.as_bytes()))
        };
        let Some((symbol, index)) = SYMBOLS.iter().find(|(s, _)| starts(s)) else {
            return Ok(None);
        };
        builder.add(*index, count)?;
        // The symbol matched bytewise, so its length is a character boundary.
        rest = after.get(symbol.len()..).unwrap_or_default();
    }
    Ok(Some(()))
}

/// The ISO 8601 forms, after the `P`.
fn iso_form(builder: &mut Builder, iso: &str) -> Result<Option<()>, String> {
    if let Some(weeks) = iso.strip_suffix(['W', 'w']) {
        return match leading_number(weeks) {
            Some((n, "")) => builder.add(2, n).map(Some),
            _ => Ok(None),
        };
    }
    if iso.contains('-') {
        return alternative_form(builder, iso);
    }
    let (date, time) = match iso.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (iso, None),
    };
    let ok = designators(builder, date, &[('Y', 0), ('M', 1), ('D', 3)])?
        && time.map_or(Ok(true), |t| {
            designators(builder, t, &[('H', 4), ('M', 5), ('S', 6)])
        })?;
    Ok(ok.then_some(()))
}

/// `[n]A[n]B...`, each designator optional and in order.
fn designators(
    builder: &mut Builder,
    mut text: &str,
    order: &[(char, usize)],
) -> Result<bool, String> {
    let mut next = 0;
    while !text.is_empty() {
        let Some((count, after)) = leading_number(text) else {
            return Ok(false);
        };
        let Some(designator) = after.chars().next().map(|c| c.to_ascii_uppercase()) else {
            return Ok(false);
        };
        let Some(at) = order[next..].iter().position(|(d, _)| *d == designator) else {
            return Ok(false);
        };
        builder.add(order[next + at].1, count)?;
        next += at + 1;
        text = &after[1..];
    }
    Ok(true)
}

/// `yyyy-mm-ddThh:mm:ss`.
fn alternative_form(builder: &mut Builder, iso: &str) -> Result<Option<()>, String> {
    let bytes = iso.as_bytes();
    let shape = "dddd-dd-ddTdd:dd:dd";
    let matches = bytes.len() == shape.len()
        && shape.bytes().zip(bytes).all(|(s, b)| match s {
            b'd' => b.is_ascii_digit(),
            b'T' => b.eq_ignore_ascii_case(&b'T'),
            _ => s == *b,
        });
    if !matches {
        return Ok(None);
    }
    let fields = [
        (0..4, 0),
        (5..7, 1),
        (8..10, 3),
        (11..13, 4),
        (14..16, 5),
        (17..19, 6),
    ];
    for (range, unit) in fields {
        builder.add(unit, iso.get(range).and_then(|s| s.parse().ok()))?;
    }
    Ok(Some(()))
}

/// Cassandra's `Duration.toString`: `-` if negative, then `y`, `mo`, `d`, `h`, `m`, `s`,
/// `ms`, `us`, `ns` parts, zero parts left out; the zero duration is empty.
pub(super) fn duration_text(d: &Duration) -> String {
    let mut out = String::new();
    if d.months < 0 || d.days < 0 || d.nanoseconds < 0 {
        out.push('-');
    }
    let months = u64::from(d.months.unsigned_abs());
    let rest = append(&mut out, months, 12, "y");
    append(&mut out, rest, 1, "mo");
    append(&mut out, u64::from(d.days.unsigned_abs()), 1, "d");
    let mut rest = d.nanoseconds.unsigned_abs();
    for (divisor, unit) in [
        (NANOS_PER_HOUR, "h"),
        (NANOS_PER_MINUTE, "m"),
        (NANOS_PER_SECOND, "s"),
        (NANOS_PER_MILLI, "ms"),
        (NANOS_PER_MICRO, "us"),
        (1, "ns"),
    ] {
        rest = append(&mut out, rest, divisor.unsigned_abs(), unit);
    }
    out
}

fn append(out: &mut String, dividend: u64, divisor: u64, unit: &str) -> u64 {
    if dividend == 0 || dividend < divisor {
        return dividend;
    }
    out.push_str(&format!("{}{unit}", dividend / divisor));
    dividend % divisor
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(months: i32, days: i32, nanoseconds: i64) -> Duration {
        Duration {
            months,
            days,
            nanoseconds,
        }
    }

    #[test]
    fn unit_form() {
        let p = |t: &str| parse_duration(t).unwrap();
        assert_eq!(p("1h30m"), d(0, 0, 90 * NANOS_PER_MINUTE));
        assert_eq!(p("2d"), d(0, 2, 0));
        assert_eq!(
            p("1y2mo3w4d5h6m7s8ms9us10ns"),
            d(
                14,
                25,
                5 * NANOS_PER_HOUR + 6 * NANOS_PER_MINUTE + 7 * NANOS_PER_SECOND + 8_009_010
            )
        );
        assert_eq!(p("3µs"), d(0, 0, 3000));
        assert_eq!(p("3US"), d(0, 0, 3000));
        assert_eq!(p("-2mo1d"), d(-2, -1, 0));
        assert_eq!(p("0s"), d(0, 0, 0));
    }

    #[test]
    fn iso_forms() {
        let p = |t: &str| parse_duration(t).unwrap();
        assert_eq!(p("P1Y2M3DT4H5M6S"), p("1y2mo3d4h5m6s"));
        assert_eq!(p("PT1H"), d(0, 0, NANOS_PER_HOUR));
        assert_eq!(p("P2W"), d(0, 14, 0));
        assert_eq!(p("-P0001-02-03T04:05:06"), p("-1y2mo3d4h5m6s"));
        assert_eq!(p("p1m"), d(1, 0, 0));
        assert!(parse_duration("P1H").is_err());
        assert!(parse_duration("PT1Y").is_err());
        assert!(parse_duration("P1M1Y").is_err());
        assert!(parse_duration("P0001-02-03").is_err());
    }

    #[test]
    fn errors_are_cassandras() {
        let e = |t: &str| parse_duration(t).unwrap_err();
        assert_eq!(e("5"), "Unable to convert '5' to a duration");
        assert_eq!(e("-"), "Unable to convert '' to a duration");
        assert_eq!(e("1h2x"), "Unable to convert '1h2x' to a duration");
        assert_eq!(e("1µ"), "Unable to convert '1µ' to a duration");
        assert_eq!(
            e("1h1h"),
            "Invalid duration. The hours are specified multiple times"
        );
        assert_eq!(
            e("1m1h"),
            "Invalid duration. The minutes should be after hours"
        );
        assert_eq!(
            e("178956971y"),
            "Invalid duration. The total number of months must be less or equal to 2147483647"
        );
        assert_eq!(
            e("99999999999999999999ns"),
            "Invalid duration. The total number of nanoseconds must be less or equal to 2147483647"
        );
        assert!(parse_duration("2147483647mo").is_ok());
        assert!(parse_duration("2147483648d").is_err());
    }

    #[test]
    fn texts() {
        assert_eq!(
            duration_text(&d(14, 3, 3_723_004_005_006)),
            "1y2mo3d1h2m3s4ms5us6ns"
        );
        assert_eq!(duration_text(&d(0, 0, 0)), "");
        assert_eq!(duration_text(&d(-1, 0, -1)), "-1mo1ns");
        assert!(duration_text(&d(i32::MIN, i32::MIN, i64::MIN)).starts_with("-178956970y8mo"));
    }
}
