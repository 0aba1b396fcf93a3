//! `getendpoints`: a partition key typed on the command line, to its token.
//!
//! Like Cassandra's `nodetool getendpoints`, the key is the value's text as the
//! column type reads it (`42`, `alice`, `8f0c...`), not a quoted CQL literal,
//! though a single-quoted string is accepted too. A composite key's components
//! are separated by `:`. The bytes and token come from [`crate::rowcodec`], so
//! they are exactly those a write of that key uses.

use cql_lite::ast::Literal;
use cql_lite::literal::from_literal;
use cql_lite::types::CqlType;
use cql_lite::value::CqlValue;

use crate::schema::TableDef;

/// The token of `key` in `table`, or why the key does not fit the table.
pub(crate) fn token_of(table: &TableDef, key: &str) -> Result<i64, String> {
    let columns: Vec<_> = table.partition_key().collect();
    let parts: Vec<&str> = if columns.len() == 1 {
        vec![key]
    } else {
        key.split(':').collect()
    };
    if parts.len() != columns.len() {
        return Err(format!(
            "Key '{key}' has {} components; the partition key of {}.{} has {}",
            parts.len(),
            table.keyspace,
            table.name,
            columns.len()
        ));
    }
    let values = columns
        .iter()
        .zip(&parts)
        .map(|(column, text)| parse_value(&column.ty, text))
        .collect::<Result<Vec<CqlValue>, String>>()?;
    let key = crate::rowcodec::partition_key(table, &values).map_err(|e| e.to_string())?;
    Ok(key.token.0)
}

/// The value of `text` as a `ty`, via the CQL literal rules.
fn parse_value(ty: &CqlType, text: &str) -> Result<CqlValue, String> {
    let literal = literal_for(ty, text)?;
    from_literal(ty, &literal).map_err(|e| e.to_string())
}

fn literal_for(ty: &CqlType, text: &str) -> Result<Literal, String> {
    let unquoted = text
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .map(|t| t.replace("''", "'"));
    let text = text.trim();
    Ok(match ty {
        CqlType::Ascii
        | CqlType::Text
        | CqlType::Inet
        | CqlType::Timestamp
        | CqlType::Date
        | CqlType::Time => Literal::String(unquoted.unwrap_or_else(|| text.to_owned())),
        CqlType::Tinyint
        | CqlType::Smallint
        | CqlType::Int
        | CqlType::Bigint
        | CqlType::Varint
        | CqlType::Counter => Literal::Integer(text.to_owned()),
        CqlType::Float | CqlType::Double | CqlType::Decimal => {
            if text.contains(['.', 'e', 'E']) {
                Literal::Float(text.to_owned())
            } else {
                Literal::Integer(text.to_owned())
            }
        }
        CqlType::Boolean => Literal::Boolean(text.eq_ignore_ascii_case("true")),
        CqlType::Uuid | CqlType::Timeuuid => Literal::Uuid(text.to_ascii_lowercase()),
        CqlType::Blob => Literal::Blob(hex(text.strip_prefix("0x").unwrap_or(text))?),
        CqlType::Duration => Literal::Duration(text.to_ascii_lowercase()),
        other => return Err(format!("getendpoints does not support {other} keys")),
    })
}

fn hex(text: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("'{text}' is not a hex string");
    if !text.len().is_multiple_of(2) {
        return Err(bad());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ColumnDef, ColumnKind, TableParams};
    use cql_lite::byte_comparable::Order;

    fn table(types: &[CqlType]) -> TableDef {
        let columns = types
            .iter()
            .enumerate()
            .map(|(i, ty)| ColumnDef {
                name: format!("k{i}"),
                ty: ty.clone(),
                kind: ColumnKind::PartitionKey,
                position: i,
                order: Order::Asc,
                id: storage::ColumnId(i as u32),
                added_at: 0,
            })
            .collect();
        TableDef {
            keyspace: "ks".into(),
            name: "t".into(),
            id: [0; 16],
            columns,
            next_column_id: types.len() as u32,
            dropped: Vec::new(),
            params: TableParams::default(),
            is_virtual: false,
            generation: 0,
            created_at: 0,
            altered_at: 0,
        }
    }

    #[test]
    fn tokens_match_the_drivers() {
        // The token of int 1 is well known from the drivers' token maps.
        let t = table(&[CqlType::Int]);
        assert_eq!(token_of(&t, "1"), Ok(-4069959284402364209));
        let t = table(&[CqlType::Text]);
        assert_eq!(token_of(&t, "'a'"), token_of(&t, "a"));
        assert!(
            token_of(&t, "a:b").is_ok(),
            "a colon is part of a single key"
        );
    }

    #[test]
    fn bad_keys_are_errors() {
        let t = table(&[CqlType::Int]);
        assert!(token_of(&t, "abc").is_err());
        let t = table(&[CqlType::Int, CqlType::Text]);
        assert!(token_of(&t, "1").is_err());
        assert!(token_of(&t, "1:x").is_ok());
        assert!(token_of(&table(&[CqlType::Blob]), "0xzz").is_err());
    }
}
