//! Decimal text for arbitrary-size integers and decimals, and the float formats CQL
//! literals and cqlsh use.

use crate::value::{Decimal, Varint};

/// The most digits a `varint` or `decimal` literal may have. Conversion is quadratic in
/// the digit count, so client text cannot make it arbitrarily slow.
pub(super) const MAX_DIGITS: usize = 100_000;

/// Splits an optional leading `-` or `+` off `text`.
fn split_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

/// Whether `text` is a non-empty run of ASCII digits.
pub(super) fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// `[-]digits` as a [`Varint`]; `None` if the text is not that or is too long.
pub(super) fn parse_varint(text: &str) -> Option<Varint> {
    let (negative, digits) = split_sign(text);
    if !all_digits(digits) || digits.len() > MAX_DIGITS {
        return None;
    }
    Some(varint_from_digits(negative, digits))
}

/// Builds the varint from a sign and validated decimal digits.
fn varint_from_digits(negative: bool, digits: &str) -> Varint {
    // Little-endian base-2^32 limbs of the magnitude, fed nine digits at a time.
    let mut limbs: Vec<u32> = Vec::new();
    for chunk in digits.as_bytes().chunks(9) {
        let mut mul: u64 = 1;
        let mut add: u64 = 0;
        for &b in chunk {
            mul *= 10;
            add = add * 10 + u64::from(b - b'0');
        }
        let mut carry = add;
        for limb in &mut limbs {
            let v = u64::from(*limb) * mul + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            limbs.push(carry as u32);
        }
    }
    // Big-endian bytes with a leading zero so the sign bit is clear.
    let mut bytes = vec![0u8];
    for limb in limbs.iter().rev() {
        bytes.extend_from_slice(&limb.to_be_bytes());
    }
    if negative {
        negate_in_place(&mut bytes);
    }
    Varint::from_be_bytes(&bytes)
}

/// Two's complement negation of big-endian bytes.
fn negate_in_place(bytes: &mut [u8]) {
    let mut carry = true;
    for b in bytes.iter_mut().rev() {
        let (v, c) = (!*b).overflowing_add(u8::from(carry));
        *b = v;
        carry = c;
    }
}

/// The varint's decimal text, `-` included.
pub(super) fn varint_to_string(v: &Varint) -> String {
    if let Some(small) = v.to_i128() {
        return small.to_string();
    }
    let negative = v.is_negative();
    let mut magnitude = v.as_be_bytes().to_vec();
    if negative {
        negate_in_place(&mut magnitude);
    }
    let mut out = magnitude_to_string(&magnitude);
    if negative {
        out.insert(0, '-');
    }
    out
}

/// Unsigned big-endian bytes in decimal.
fn magnitude_to_string(bytes: &[u8]) -> String {
    // Big-endian u32 limbs, most significant first.
    let pad = (4 - bytes.len() % 4) % 4;
    let mut padded = vec![0u8; pad];
    padded.extend_from_slice(bytes);
    let mut limbs: Vec<u32> = padded
        .chunks(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut groups = Vec::new();
    while limbs.iter().any(|&l| l != 0) {
        let mut rem: u64 = 0;
        for limb in &mut limbs {
            let v = (rem << 32) | u64::from(*limb);
            *limb = (v / 1_000_000_000) as u32;
            rem = v % 1_000_000_000;
        }
        groups.push(rem);
        while limbs.first() == Some(&0) {
            limbs.remove(0);
        }
    }
    let mut out = groups.last().map_or_else(|| "0".to_owned(), u64::to_string);
    for group in groups.iter().rev().skip(1) {
        out.push_str(&format!("{group:09}"));
    }
    out
}

/// Java's `new BigDecimal(text)`: `[-+]digits[.digits][(e|E)[-+]digits]`, the scale
/// being the fraction's length minus the exponent. `None` when malformed or the scale
/// does not fit an `int`.
pub(super) fn parse_decimal(text: &str) -> Option<Decimal> {
    let (negative, rest) = split_sign(text);
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok(int_part) || !digits_ok(frac_part) || int_part.len() + frac_part.len() == 0 {
        return None;
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let (neg, digits) = split_sign(e);
            if !all_digits(digits) || digits.len() > 12 {
                return None;
            }
            let v: i64 = digits.parse().ok()?;
            if neg { -v } else { v }
        }
    };
    let frac_len = i64::try_from(frac_part.len()).ok()?;
    let scale = i32::try_from(frac_len - exponent).ok()?;
    let digits = format!("{int_part}{frac_part}");
    if digits.len() > MAX_DIGITS {
        return None;
    }
    Some(Decimal {
        scale,
        unscaled: varint_from_digits(negative, &digits),
    })
}

/// A decimal as a CQL literal that reads back with the same unscaled value and scale:
/// plain digits for scale 0, a decimal point for small positive scales, otherwise
/// `digitsE±n`.
pub(super) fn decimal_literal(d: &Decimal) -> String {
    let unscaled = varint_to_string(&d.unscaled);
    let (sign, digits) = match unscaled.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", unscaled.as_str()),
    };
    match usize::try_from(d.scale) {
        Ok(0) => unscaled,
        Ok(scale) if scale <= 64 => {
            let padded = format!("{digits:0>width$}", width = scale + 1);
            let (int_part, frac_part) = padded.split_at(padded.len() - scale);
            format!("{sign}{int_part}.{frac_part}")
        }
        _ => format!("{sign}{digits}E{:+}", -i64::from(d.scale)),
    }
}

/// Python's `str(decimal.Decimal)`, which cqlsh prints: plain notation unless the
/// exponent is positive or the number is very small, else `d.dddE+n`.
pub(super) fn decimal_python(d: &Decimal) -> String {
    let unscaled = varint_to_string(&d.unscaled);
    let (sign, digits) = match unscaled.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", unscaled.as_str()),
    };
    let exp = -i64::from(d.scale);
    let len = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let leftdigits = exp + len;
    let dotplace = if exp <= 0 && leftdigits > -6 {
        leftdigits
    } else {
        1
    };
    let (int_part, frac_part) = if dotplace <= 0 {
        let zeros = "0".repeat(usize::try_from(-dotplace).unwrap_or(0));
        ("0".to_owned(), format!(".{zeros}{digits}"))
    } else if dotplace >= len {
        let zeros = "0".repeat(usize::try_from(dotplace - len).unwrap_or(0));
        (format!("{digits}{zeros}"), String::new())
    } else {
        let at = usize::try_from(dotplace).unwrap_or(0);
        (digits[..at].to_owned(), format!(".{}", &digits[at..]))
    };
    let exp_part = if leftdigits == dotplace {
        String::new()
    } else {
        format!("E{:+}", leftdigits - dotplace)
    };
    format!("{sign}{int_part}{frac_part}{exp_part}")
}

/// A double as a CQL literal: the shortest text that reads back to the same bits
/// (up to NaN payloads), `NaN`, `Infinity` or `-Infinity`.
pub(super) fn double_literal(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        format!("{v:?}")
    }
}

/// A float as a CQL literal, as [`double_literal`] with `f32`'s shortest text.
pub(super) fn float_literal(v: f32) -> String {
    if v.is_nan() || v.is_infinite() {
        double_literal(f64::from(v))
    } else {
        format!("{v:?}")
    }
}

/// The digits cqlsh 6 shows for floats and doubles (`float_precision` and
/// `double_precision` both default to 5).
const CQLSH_PRECISION: i32 = 5;

/// How cqlsh's `format_floating_point_type` prints a float or double: between 1e-4 and
/// 1e5 with five digits after the point, else `%.5g`; trailing zeros dropped.
pub(super) fn cqlsh_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let exponent = if v.abs() > f64::EPSILON {
        v.abs().log10() as i32
    } else {
        i32::MIN
    };
    let precision = if (-4..CQLSH_PRECISION).contains(&exponent) {
        CQLSH_PRECISION + exponent + 1
    } else {
        CQLSH_PRECISION
    };
    python_general(v, usize::try_from(precision).unwrap_or(1))
}

/// Python's `'%.*g' % (precision, v)` for a finite `v`.
pub(super) fn python_general(v: f64, precision: usize) -> String {
    let p = precision.max(1);
    let sci = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let p_i = i64::try_from(p).unwrap_or(i64::MAX);
    if (-4..p_i).contains(&exp) {
        let decimals = usize::try_from(p_i - 1 - exp).unwrap_or(0);
        strip_fraction_zeros(&format!("{v:.decimals$}"))
    } else {
        let mantissa = strip_fraction_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    }
}

/// Drops trailing zeros after a decimal point, and the point if nothing follows it.
fn strip_fraction_zeros(text: &str) -> String {
    if !text.contains('.') {
        return text.to_owned();
    }
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_convert_both_ways() {
        for text in [
            "0",
            "-1",
            "127",
            "128",
            "-128",
            "-129",
            "170141183460469231731687303715884105727",
            "170141183460469231731687303715884105728",
            "-170141183460469231731687303715884105729",
            "123456789012345678901234567890123456789012345678901234567890",
        ] {
            let v = parse_varint(text).unwrap();
            assert_eq!(varint_to_string(&v), text);
        }
        assert_eq!(parse_varint("-00"), Some(Varint::from(0i64)));
        assert_eq!(parse_varint("+5"), Some(Varint::from(5i64)));
        assert_eq!(parse_varint("1.5"), None);
        assert_eq!(parse_varint(""), None);
        assert_eq!(parse_varint("-"), None);
        assert_eq!(parse_varint(&"9".repeat(MAX_DIGITS + 1)), None);
    }

    #[test]
    fn decimals_follow_big_decimal() {
        let d = |text: &str| parse_decimal(text).unwrap();
        assert_eq!(d("1.5"), Decimal::new(15i64, 1));
        assert_eq!(d("-2e10"), Decimal::new(-2i64, -10));
        assert_eq!(d("1.5E+3"), Decimal::new(15i64, -2));
        assert_eq!(d("1.50"), Decimal::new(150i64, 2));
        assert_eq!(d("1."), Decimal::new(1i64, 0));
        assert_eq!(d(".5"), Decimal::new(5i64, 1));
        assert_eq!(d("0.000"), Decimal::new(0i64, 3));
        assert_eq!(parse_decimal("1e99999999999"), None);
        assert_eq!(parse_decimal("1e-2147483649"), None);
        assert_eq!(parse_decimal("."), None);
        assert_eq!(parse_decimal("1e"), None);
        assert_eq!(parse_decimal("NaN"), None);
    }

    #[test]
    fn decimal_texts() {
        let lit = |u: i64, s: i32| decimal_literal(&Decimal::new(u, s));
        assert_eq!(lit(15, 1), "1.5");
        assert_eq!(lit(-15, 3), "-0.015");
        assert_eq!(lit(15, -2), "15E+2");
        assert_eq!(lit(42, 0), "42");
        assert_eq!(lit(1, 100), "1E-100");
        let py = |u: i64, s: i32| decimal_python(&Decimal::new(u, s));
        assert_eq!(py(15, 1), "1.5");
        assert_eq!(py(15, -2), "1.5E+3");
        assert_eq!(py(-15, 3), "-0.015");
        assert_eq!(py(1, 7), "1E-7");
        assert_eq!(py(1, 6), "0.000001");
        assert_eq!(py(100, 0), "100");
        assert_eq!(py(0, 2), "0.00");
    }

    #[test]
    fn cqlsh_floats_match_python() {
        assert_eq!(cqlsh_float(1.5), "1.5");
        assert_eq!(cqlsh_float(std::f64::consts::PI), "3.14159");
        assert_eq!(cqlsh_float(1e10), "1e+10");
        assert_eq!(cqlsh_float(123.456), "123.456");
        assert_eq!(cqlsh_float(123456.0), "1.2346e+05");
        assert_eq!(cqlsh_float(0.001234567), "0.001235");
        assert_eq!(cqlsh_float(0.0), "0");
        assert_eq!(cqlsh_float(-0.0), "-0");
        assert_eq!(cqlsh_float(1e-20), "1e-20");
        assert_eq!(cqlsh_float(-2.0), "-2");
        assert_eq!(cqlsh_float(f64::from(1.1f32)), "1.1");
        assert_eq!(cqlsh_float(f64::NAN), "NaN");
        assert_eq!(cqlsh_float(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn float_literals_are_shortest() {
        assert_eq!(double_literal(1.0), "1.0");
        assert_eq!(double_literal(0.1), "0.1");
        assert_eq!(double_literal(1e300), "1e300");
        assert_eq!(double_literal(-0.0), "-0.0");
        assert_eq!(float_literal(1.1), "1.1");
        assert_eq!(float_literal(f32::NEG_INFINITY), "-Infinity");
    }
}
