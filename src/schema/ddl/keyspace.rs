//! CREATE, ALTER and DROP KEYSPACE, and the `replication` option.

use std::collections::{BTreeMap, BTreeSet};

use cql_lite::ErrorResponse;
use cql_lite::SchemaChangeType;
use cql_lite::ast::{AlterKeyspace, CreateKeyspace, DropKeyspace, Property};

use super::params::{check_unique, prop_bool, prop_map};
use super::{
    Change, DdlContext, check_name, ensure_user_keyspace, keyspace_event, keyspace_missing,
};
use crate::schema::{KeyspaceDef, KeyspaceTombstone, Replication, Schema};
use cql_lite::errors::{already_exists, config, syntax};

const LOCATOR: &str = "org.apache.cassandra.locator.";

/// The keyspace options a statement set.
struct KeyspaceOptions {
    replication: Option<Replication>,
    durable_writes: Option<bool>,
}

fn options(
    props: &[Property],
    ctx: &DdlContext<'_>,
    current: Option<&Replication>,
    keyspace: &str,
) -> Result<KeyspaceOptions, ErrorResponse> {
    check_unique(props)?;
    let mut out = KeyspaceOptions {
        replication: None,
        durable_writes: None,
    };
    for p in props {
        match p.name.as_str() {
            "replication" => {
                let map = prop_map(p)?;
                out.replication = Some(replication(&map, ctx, current, keyspace)?);
            }
            "durable_writes" => out.durable_writes = Some(prop_bool(p)?),
            name => return Err(syntax(format!("Unknown property '{name}'"))),
        }
    }
    Ok(out)
}

/// A replication factor: a non-negative integer (transient `3/1` is not supported).
fn factor(text: &str) -> Result<u32, ErrorResponse> {
    if text.contains('/') {
        return Err(config(
            "Transient replication is disabled. Enable in cassandra.yaml to use.",
        ));
    }
    match text.trim().parse::<i64>() {
        Ok(n) if n < 0 => Err(config(format!(
            "Replication factor must be non-negative; found {n}"
        ))),
        Ok(n) => {
            u32::try_from(n).map_err(|_| config(format!("Replication factor {n} is too large")))
        }
        Err(_) => Err(config(format!(
            "Replication factor must be numeric; found {text}"
        ))),
    }
}

/// The strategy `replication = {...}` describes. `current` is the keyspace's
/// replication before an ALTER: NetworkTopologyStrategy's `replication_factor`
/// shorthand also covers the data centers it already lists.
fn replication(
    map: &BTreeMap<String, String>,
    ctx: &DdlContext<'_>,
    current: Option<&Replication>,
    keyspace: &str,
) -> Result<Replication, ErrorResponse> {
    let class = map
        .get("class")
        .ok_or_else(|| config("Missing replication strategy class"))?;
    let short = class.strip_prefix(LOCATOR).unwrap_or(class);
    let options = map.iter().filter(|(k, _)| *k != "class");
    match short {
        "SimpleStrategy" => {
            let mut rf = None;
            for (key, value) in options {
                if key != "replication_factor" {
                    return Err(config(format!(
                        "Unrecognized strategy option {{{key}}} passed to SimpleStrategy \
                         for keyspace {keyspace}"
                    )));
                }
                rf = Some(factor(value)?);
            }
            let replication_factor = rf.ok_or_else(|| {
                config("SimpleStrategy requires a replication_factor strategy option.")
            })?;
            Ok(Replication::Simple { replication_factor })
        }
        "NetworkTopologyStrategy" => network_topology(options, ctx, current),
        "LocalStrategy" | "EverywhereStrategy" => Err(config(format!(
            "Unable to use given strategy class: {short} is reserved for internal use."
        ))),
        _ => {
            let full = if class.contains('.') {
                class.clone()
            } else {
                format!("{LOCATOR}{class}")
            };
            Err(config(format!(
                "Unable to find replication strategy class '{full}'"
            )))
        }
    }
}

fn network_topology<'a>(
    options: impl Iterator<Item = (&'a String, &'a String)>,
    ctx: &DdlContext<'_>,
    current: Option<&Replication>,
) -> Result<Replication, ErrorResponse> {
    let mut data_centers = BTreeMap::new();
    let mut shorthand = None;
    for (key, value) in options {
        let rf = factor(value)?;
        if key == "replication_factor" {
            shorthand = Some(rf);
        } else {
            data_centers.insert(key.clone(), rf);
        }
    }
    if let Some(rf) = shorthand {
        // Explicit per-DC factors win over the shorthand, as in Cassandra.
        let mut known: BTreeSet<&String> = ctx.data_centers.iter().collect();
        if let Some(Replication::NetworkTopology { data_centers: old }) = current {
            known.extend(old.keys());
        }
        for dc in known {
            data_centers.entry(dc.clone()).or_insert(rf);
        }
    }
    Ok(Replication::NetworkTopology { data_centers })
}

pub(super) fn create(
    schema: &Schema,
    stmt: &CreateKeyspace,
    ctx: &DdlContext<'_>,
) -> Result<Option<Change>, ErrorResponse> {
    check_name("Keyspace", &stmt.name)?;
    if schema.keyspace(&stmt.name).is_some() {
        if stmt.if_not_exists {
            return Ok(None);
        }
        return Err(already_exists(&stmt.name, ""));
    }
    ensure_user_keyspace(&stmt.name)?;
    let opts = options(&stmt.properties, ctx, None, &stmt.name)?;
    let replication = opts
        .replication
        .ok_or_else(|| cql_lite::errors::invalid("Missing mandatory option 'replication'"))?;
    let mut schema = schema.clone();
    schema.keyspaces.insert(
        stmt.name.clone(),
        KeyspaceDef {
            name: stmt.name.clone(),
            replication,
            durable_writes: opts.durable_writes.unwrap_or(true),
            tables: BTreeMap::new(),
            generation: schema
                .dropped_keyspaces
                .get(&stmt.name)
                .map_or(0, |t| t.generation.saturating_add(1)),
            created_at: ctx.timestamp_micros,
            altered_at: ctx.timestamp_micros,
            dropped_tables: BTreeMap::new(),
        },
    );
    Ok(Some(Change {
        schema,
        event: keyspace_event(SchemaChangeType::Created, &stmt.name),
    }))
}

pub(super) fn alter(
    schema: &Schema,
    stmt: &AlterKeyspace,
    ctx: &DdlContext<'_>,
) -> Result<Option<Change>, ErrorResponse> {
    let Some(old) = schema.keyspace(&stmt.name) else {
        if stmt.if_exists {
            return Ok(None);
        }
        return Err(keyspace_missing(&stmt.name));
    };
    ensure_user_keyspace(&stmt.name)?;
    let opts = options(&stmt.properties, ctx, Some(&old.replication), &stmt.name)?;
    let mut keyspace = old.clone();
    if let Some(replication) = opts.replication {
        keyspace.replication = replication;
    }
    if let Some(durable) = opts.durable_writes {
        keyspace.durable_writes = durable;
    }
    if (&keyspace.replication, keyspace.durable_writes) == (&old.replication, old.durable_writes) {
        // Setting the options they already have changes nothing (no new time).
        return Ok(None);
    }
    keyspace.altered_at = ctx.timestamp_micros;
    let mut schema = schema.clone();
    schema.keyspaces.insert(stmt.name.clone(), keyspace);
    Ok(Some(Change {
        schema,
        event: keyspace_event(SchemaChangeType::Updated, &stmt.name),
    }))
}

pub(super) fn drop(
    schema: &Schema,
    stmt: &DropKeyspace,
    ctx: &DdlContext<'_>,
) -> Result<Option<Change>, ErrorResponse> {
    let Some(old) = schema.keyspace(&stmt.name) else {
        if stmt.if_exists {
            return Ok(None);
        }
        return Err(keyspace_missing(&stmt.name));
    };
    ensure_user_keyspace(&stmt.name)?;
    let dropped = KeyspaceTombstone {
        generation: old.generation,
        dropped_at: ctx.timestamp_micros,
    };
    let mut schema = schema.clone();
    schema.keyspaces.remove(&stmt.name);
    schema
        .dropped_keyspaces
        .entry(stmt.name.clone())
        .and_modify(|t| *t = t.join(dropped))
        .or_insert(dropped);
    Ok(Some(Change {
        schema,
        event: keyspace_event(SchemaChangeType::Dropped, &stmt.name),
    }))
}
