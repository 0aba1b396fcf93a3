//! Proptest strategies for every message, shared by the round-trip and hostile-input tests.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use cql_lite::*;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;

pub fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_ .é]{0,10}"
}

pub fn blob() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..12).prop_map(Bytes::from)
}

pub fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(Value::Unset),
        blob().prop_map(Value::Set)
    ]
}

pub fn consistency() -> impl Strategy<Value = Consistency> {
    select(Consistency::ALL.to_vec())
}

pub fn bytes_map() -> impl Strategy<Value = BytesMap> {
    proptest::collection::btree_map(text(), of(blob()), 0..3)
}

pub fn address() -> impl Strategy<Value = SocketAddr> {
    (any::<IpAddr>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(ip, port))
}

fn values() -> impl Strategy<Value = Values> {
    prop_oneof![
        vec(value(), 0..4).prop_map(Values::Positional),
        vec((text(), value()), 0..4).prop_map(Values::Named),
    ]
}

pub fn parameters() -> impl Strategy<Value = QueryParameters> {
    (
        consistency(),
        values(),
        any::<bool>(),
        of(any::<i32>()),
        of(blob()),
        of(consistency()),
        of(any::<i64>()),
    )
        .prop_map(
            |(consistency, values, skip_metadata, page_size, paging_state, serial, ts)| {
                QueryParameters {
                    consistency,
                    values,
                    skip_metadata,
                    page_size,
                    paging_state,
                    serial_consistency: serial,
                    default_timestamp: ts,
                }
            },
        )
}

fn batch() -> impl Strategy<Value = Batch> {
    let query = prop_oneof![
        text().prop_map(BatchQuery::Text),
        blob().prop_map(BatchQuery::Prepared)
    ];
    let statement =
        (query, vec(value(), 0..3)).prop_map(|(query, values)| BatchStatement { query, values });
    let batch_type = select(vec![
        BatchType::Logged,
        BatchType::Unlogged,
        BatchType::Counter,
    ]);
    (
        batch_type,
        vec(statement, 0..4),
        consistency(),
        of(consistency()),
        of(any::<i64>()),
    )
        .prop_map(
            |(batch_type, statements, consistency, serial_consistency, default_timestamp)| Batch {
                batch_type,
                statements,
                consistency,
                serial_consistency,
                default_timestamp,
            },
        )
}

pub fn request() -> impl Strategy<Value = Request> {
    let event_type = select(vec![
        EventType::TopologyChange,
        EventType::StatusChange,
        EventType::SchemaChange,
    ]);
    prop_oneof![
        proptest::collection::btree_map(text(), text(), 0..4).prop_map(Request::Startup),
        Just(Request::Options),
        (text(), parameters()).prop_map(|(query, parameters)| Request::Query { query, parameters }),
        text().prop_map(|query| Request::Prepare { query }),
        (blob(), parameters()).prop_map(|(id, parameters)| Request::Execute { id, parameters }),
        batch().prop_map(Request::Batch),
        vec(event_type, 0..4).prop_map(Request::Register),
        of(blob()).prop_map(Request::AuthResponse),
    ]
}

pub fn request_message() -> impl Strategy<Value = RequestMessage> {
    (any::<i16>(), any::<bool>(), of(bytes_map()), request()).prop_map(
        |(stream, tracing, custom_payload, request)| RequestMessage {
            stream,
            tracing,
            custom_payload,
            request,
        },
    )
}

pub fn column_type() -> impl Strategy<Value = ColumnType> {
    let leaf = prop_oneof![
        select(vec![
            ColumnType::Ascii,
            ColumnType::Bigint,
            ColumnType::Blob,
            ColumnType::Boolean,
            ColumnType::Counter,
            ColumnType::Decimal,
            ColumnType::Double,
            ColumnType::Float,
            ColumnType::Int,
            ColumnType::Timestamp,
            ColumnType::Uuid,
            ColumnType::Varchar,
            ColumnType::Varint,
            ColumnType::Timeuuid,
            ColumnType::Inet,
            ColumnType::Date,
            ColumnType::Time,
            ColumnType::Smallint,
            ColumnType::Tinyint,
            ColumnType::Duration,
        ]),
        text().prop_map(ColumnType::Custom),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| ColumnType::List(Box::new(t))),
            inner.clone().prop_map(|t| ColumnType::Set(Box::new(t))),
            (inner.clone(), inner.clone())
                .prop_map(|(k, v)| ColumnType::Map(Box::new(k), Box::new(v))),
            vec(inner.clone(), 0..3).prop_map(ColumnType::Tuple),
            (text(), text(), vec((text(), inner), 0..3)).prop_map(|(keyspace, name, fields)| {
                ColumnType::Udt {
                    keyspace,
                    name,
                    fields,
                }
            }),
        ]
    })
}

fn column_specs() -> impl Strategy<Value = Vec<ColumnSpec>> {
    // Half the time one table for all columns, so the global-table-spec path is exercised.
    let spec = |table: Option<(String, String)>| {
        (text(), text(), text(), column_type()).prop_map(move |(ks, t, name, column_type)| {
            let (keyspace, table) = table.clone().unwrap_or((ks, t));
            ColumnSpec {
                keyspace,
                table,
                name,
                column_type,
            }
        })
    };
    prop_oneof![
        vec(spec(None), 0..4),
        vec(spec(Some(("ks".into(), "t".into()))), 1..4),
    ]
}

pub fn rows_metadata() -> impl Strategy<Value = RowsMetadata> {
    let columns = prop_oneof![
        column_specs().prop_map(Columns::Specs),
        (0usize..4).prop_map(|count| Columns::NoMetadata { count }),
    ];
    (of(blob()), columns).prop_map(|(paging_state, columns)| RowsMetadata {
        paging_state,
        columns,
    })
}

fn rows() -> impl Strategy<Value = Rows> {
    rows_metadata().prop_flat_map(|metadata| {
        let width = metadata.columns.count();
        let rows = if width == 0 {
            vec(vec(of(blob()), 0), 0..1)
        } else {
            vec(vec(of(blob()), width), 0..4)
        };
        rows.prop_map(move |rows| Rows {
            metadata: metadata.clone(),
            rows,
        })
    })
}

fn schema_change() -> impl Strategy<Value = SchemaChange> {
    let change_type = select(vec![
        SchemaChangeType::Created,
        SchemaChangeType::Updated,
        SchemaChangeType::Dropped,
    ]);
    let target = prop_oneof![
        text().prop_map(|keyspace| SchemaChangeTarget::Keyspace { keyspace }),
        (text(), text())
            .prop_map(|(keyspace, table)| SchemaChangeTarget::Table { keyspace, table }),
        (text(), text()).prop_map(|(keyspace, name)| SchemaChangeTarget::Type { keyspace, name }),
        (text(), text(), vec(text(), 0..3)).prop_map(|(keyspace, name, arg_types)| {
            SchemaChangeTarget::Function {
                keyspace,
                name,
                arg_types,
            }
        }),
        (text(), text(), vec(text(), 0..3)).prop_map(|(keyspace, name, arg_types)| {
            SchemaChangeTarget::Aggregate {
                keyspace,
                name,
                arg_types,
            }
        }),
    ];
    (change_type, target).prop_map(|(change_type, target)| SchemaChange {
        change_type,
        target,
    })
}

fn result() -> impl Strategy<Value = QueryResult> {
    let prepared = (
        blob(),
        vec(any::<u16>(), 0..3),
        column_specs(),
        rows_metadata(),
    )
        .prop_map(|(id, pk_indexes, bind_markers, result_metadata)| Prepared {
            id,
            pk_indexes,
            bind_markers,
            result_metadata,
        });
    prop_oneof![
        Just(QueryResult::Void),
        rows().prop_map(QueryResult::Rows),
        text().prop_map(QueryResult::SetKeyspace),
        prepared.prop_map(QueryResult::Prepared),
        schema_change().prop_map(QueryResult::SchemaChange),
    ]
}

pub fn event() -> impl Strategy<Value = Event> {
    let topology = select(vec![
        TopologyChangeType::NewNode,
        TopologyChangeType::RemovedNode,
        TopologyChangeType::MovedNode,
    ]);
    let status = select(vec![StatusChangeType::Up, StatusChangeType::Down]);
    prop_oneof![
        (topology, address())
            .prop_map(|(change, address)| Event::TopologyChange { change, address }),
        (status, address()).prop_map(|(change, address)| Event::StatusChange { change, address }),
        schema_change().prop_map(Event::SchemaChange),
    ]
}

fn write_type() -> impl Strategy<Value = WriteType> {
    prop_oneof![
        select(vec![
            WriteType::Simple,
            WriteType::Batch,
            WriteType::UnloggedBatch,
            WriteType::Counter,
            WriteType::BatchLog,
            WriteType::Cas,
            WriteType::View,
            WriteType::Cdc,
        ]),
        "[a-z]{0,6}".prop_map(WriteType::Other),
    ]
}

pub fn error_kind() -> impl Strategy<Value = ErrorKind> {
    let counts = || (consistency(), any::<i32>(), any::<i32>());
    prop_oneof![
        select(vec![
            ErrorKind::ServerError,
            ErrorKind::ProtocolError,
            ErrorKind::AuthenticationError,
            ErrorKind::Overloaded,
            ErrorKind::IsBootstrapping,
            ErrorKind::TruncateError,
            ErrorKind::SyntaxError,
            ErrorKind::Unauthorized,
            ErrorKind::Invalid,
            ErrorKind::ConfigError,
            ErrorKind::Unknown { code: 0x1600 },
            ErrorKind::Unknown { code: 0x1700 },
        ]),
        counts().prop_map(|(consistency, required, alive)| ErrorKind::Unavailable {
            consistency,
            required,
            alive
        }),
        (counts(), write_type()).prop_map(|((consistency, received, block_for), write_type)| {
            ErrorKind::WriteTimeout {
                consistency,
                received,
                block_for,
                write_type,
            }
        }),
        (counts(), any::<bool>()).prop_map(|((consistency, received, block_for), data_present)| {
            ErrorKind::ReadTimeout {
                consistency,
                received,
                block_for,
                data_present,
            }
        }),
        (counts(), any::<i32>(), any::<bool>()).prop_map(
            |((consistency, received, block_for), num_failures, data_present)| {
                ErrorKind::ReadFailure {
                    consistency,
                    received,
                    block_for,
                    num_failures,
                    data_present,
                }
            }
        ),
        (counts(), any::<i32>(), write_type()).prop_map(
            |((consistency, received, block_for), num_failures, write_type)| {
                ErrorKind::WriteFailure {
                    consistency,
                    received,
                    block_for,
                    num_failures,
                    write_type,
                }
            }
        ),
        (text(), text(), vec(text(), 0..3)).prop_map(|(keyspace, function, arg_types)| {
            ErrorKind::FunctionFailure {
                keyspace,
                function,
                arg_types,
            }
        }),
        (text(), text()).prop_map(|(keyspace, table)| ErrorKind::AlreadyExists { keyspace, table }),
        blob().prop_map(|id| ErrorKind::Unprepared { id }),
    ]
}

pub fn response() -> impl Strategy<Value = Response> {
    let supported = proptest::collection::btree_map(text(), vec(text(), 0..3), 0..4);
    prop_oneof![
        (error_kind(), text())
            .prop_map(|(kind, message)| Response::Error(ErrorResponse { kind, message })),
        Just(Response::Ready),
        text().prop_map(|authenticator| Response::Authenticate { authenticator }),
        supported.prop_map(Response::Supported),
        result().prop_map(Response::Result),
        event().prop_map(Response::Event),
        of(blob()).prop_map(Response::AuthChallenge),
        of(blob()).prop_map(Response::AuthSuccess),
    ]
}

pub fn response_message() -> impl Strategy<Value = ResponseMessage> {
    (
        any::<i16>(),
        of(any::<[u8; 16]>()),
        vec(text(), 0..3),
        of(bytes_map()),
        response(),
    )
        .prop_map(
            |(stream, tracing_id, warnings, custom_payload, response)| ResponseMessage {
                stream,
                tracing_id,
                warnings,
                custom_payload,
                response,
            },
        )
}

pub fn codec_options() -> impl Strategy<Value = CodecOptions> {
    select(vec![Compression::None, Compression::Lz4]).prop_map(|compression| CodecOptions {
        compression,
        ..CodecOptions::default()
    })
}
