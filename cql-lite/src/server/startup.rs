//! OPTIONS and STARTUP: what the server offers and what a client may pick.

use crate::compression::Compression;
use crate::notation::{StringMap, StringMultimap};

use super::ServerConfig;

/// The SUPPORTED body. Drivers read `CQL_VERSION` and `COMPRESSION` without a fallback
/// (clients.md §0.2), so both are always present.
pub(super) fn supported(config: &ServerConfig) -> StringMultimap {
    let mut supported = StringMultimap::new();
    supported.insert("CQL_VERSION".into(), vec![config.cql_version.clone()]);
    let lz4 = Compression::Lz4.startup_name().unwrap_or("lz4");
    supported.insert("COMPRESSION".into(), vec![lz4.into()]);
    supported.insert(
        "PROTOCOL_VERSIONS".into(),
        vec!["3/v3".into(), "4/v4".into()],
    );
    supported
}

/// The compression a STARTUP asks for, or the protocol error's message.
///
/// `CQL_VERSION` is mandatory and must be `3.0.0` or later, as in Cassandra (which
/// only refuses versions below 2.99.0); the other options (`DRIVER_NAME`,
/// `NO_COMPACT`, ...) are informational.
pub(super) fn negotiate(options: &StringMap) -> Result<Compression, String> {
    let Some(version) = option(options, "CQL_VERSION") else {
        return Err("Missing value CQL_VERSION in STARTUP message".into());
    };
    if !is_cql3_or_later(version) {
        return Err(format!("Invalid or unsupported CQL version: {version}"));
    }
    match option(options, "COMPRESSION") {
        None => Ok(Compression::None),
        Some(name) => Compression::from_startup_name(name)
            .ok_or_else(|| format!("Unknown compression algorithm: {name}")),
    }
}

/// A STARTUP option by name; drivers send upper case, but nothing is lost by not
/// insisting on it.
fn option<'a>(options: &'a StringMap, key: &str) -> Option<&'a str> {
    options
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// Whether `version` reads `<major>.<minor>[.<patch>]` with a major of 3 or more.
/// Newer drivers send `4.0.0` (the scylla Rust driver does), and Cassandra
/// accepts it: it compares against 2.99.0 rather than insisting on 3.x.
fn is_cql3_or_later(version: &str) -> bool {
    let mut parts = version.split('.');
    let numeric = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let major_ok = parts
        .next()
        .filter(|major| numeric(major))
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major >= 3);
    major_ok && (1..=2).contains(&parts.clone().count()) && parts.all(numeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn startup(pairs: &[(&str, &str)]) -> StringMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn negotiates_lz4_and_refuses_the_rest() {
        let ok = startup(&[("CQL_VERSION", "3.4.5"), ("COMPRESSION", "lz4")]);
        assert_eq!(negotiate(&ok), Ok(Compression::Lz4));
        assert_eq!(
            negotiate(&startup(&[("CQL_VERSION", "3.0.0")])),
            Ok(Compression::None)
        );
        let snappy = startup(&[("CQL_VERSION", "3.4.5"), ("COMPRESSION", "snappy")]);
        assert!(negotiate(&snappy).is_err());
        assert!(negotiate(&startup(&[])).is_err());
        for good in ["4.0.0", "3.0", "10.1.2"] {
            assert_eq!(
                negotiate(&startup(&[("CQL_VERSION", good)])),
                Ok(Compression::None),
                "{good}"
            );
        }
        for bad in ["2.0.0", "3", "3.x", "3.4.5.6", "", "-3.0.0"] {
            assert!(
                negotiate(&startup(&[("CQL_VERSION", bad)])).is_err(),
                "{bad}"
            );
        }
    }
}
