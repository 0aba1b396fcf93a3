//! CREATE, ALTER and DROP for keyspaces and tables, plus TRUNCATE and `WITH` options.

use super::{PResult, Parser};
use crate::ast::{
    AlterKeyspace, AlterTable, AlterTableAction, ColumnDefinition, CreateKeyspace, CreateTable,
    DropKeyspace, DropTable, PrimaryKey, Property, PropertyValue, Statement,
};
use crate::lexer::{Symbol, TokenKind};

/// What CREATE TABLE's `WITH` clause holds.
#[derive(Default)]
struct TableOptions {
    clustering_order: Vec<crate::ast::Ordering>,
    compact_storage: bool,
    properties: Vec<Property>,
}

impl Parser {
    /// `KEYSPACE` or its old synonym `SCHEMA`.
    fn eat_keyspace_word(&mut self) -> bool {
        self.eat_keyword("KEYSPACE") || self.eat_keyword("SCHEMA")
    }

    /// `TABLE` or its old synonym `COLUMNFAMILY`.
    fn eat_table_word(&mut self) -> bool {
        self.eat_keyword("TABLE") || self.eat_keyword("COLUMNFAMILY")
    }

    pub(super) fn truncate(&mut self) -> PResult<Statement> {
        self.expect_keyword("TRUNCATE")?;
        self.eat_table_word();
        self.qualified_name().map(Statement::Truncate)
    }

    pub(super) fn create(&mut self) -> PResult<Statement> {
        self.expect_keyword("CREATE")?;
        if self.eat_keyspace_word() {
            let if_not_exists = self.eat_keywords(&["IF", "NOT", "EXISTS"])?;
            let name = self.identifier()?;
            self.expect_keyword("WITH")?;
            let properties = self.properties()?;
            return Ok(Statement::CreateKeyspace(CreateKeyspace {
                name,
                if_not_exists,
                properties,
            }));
        }
        if self.eat_table_word() {
            return self.create_table().map(Statement::CreateTable);
        }
        Err(self.error("KEYSPACE or TABLE"))
    }

    fn create_table(&mut self) -> PResult<CreateTable> {
        let if_not_exists = self.eat_keywords(&["IF", "NOT", "EXISTS"])?;
        let name = self.qualified_name()?;
        self.expect_symbol(Symbol::LeftParen)?;
        let mut columns = Vec::new();
        let mut primary_key: Option<PrimaryKey> = None;
        loop {
            let (line, column) = self
                .tokens
                .get(self.pos)
                .map_or((1, 0), |t| (t.line, t.column));
            let key = if self.eat_keywords(&["PRIMARY", "KEY"])? {
                Some(self.primary_key()?)
            } else {
                let definition = self.column_definition()?;
                let inline = self.eat_keywords(&["PRIMARY", "KEY"])?;
                let key = inline.then(|| PrimaryKey {
                    partition_key: vec![definition.name.clone()],
                    clustering: Vec::new(),
                });
                columns.push(definition);
                key
            };
            if key.is_some() {
                if primary_key.is_some() {
                    let mut error = self.error("a single PRIMARY KEY");
                    (error.line, error.column) = (line, column);
                    error.found = "PRIMARY KEY".to_owned();
                    return Err(error);
                }
                primary_key = key;
            }
            if self.eat_symbol(Symbol::RightParen) {
                break;
            }
            if !self.eat_symbol(Symbol::Comma) {
                return Err(self.error(", or )"));
            }
            // A trailing comma before `)` is accepted, as Cassandra does.
            if self.eat_symbol(Symbol::RightParen) {
                break;
            }
        }
        let Some(primary_key) = primary_key else {
            return Err(self.error_before("a PRIMARY KEY"));
        };
        let options = if self.eat_keyword("WITH") {
            self.table_options()?
        } else {
            TableOptions::default()
        };
        Ok(CreateTable {
            name,
            if_not_exists,
            columns,
            primary_key,
            clustering_order: options.clustering_order,
            compact_storage: options.compact_storage,
            properties: options.properties,
        })
    }

    /// An error pointing at the previous token (the closing one of a construct).
    pub(super) fn error_before(&self, expected: &str) -> crate::parser::ParseError {
        let mut error = self.error(expected);
        if let Some(t) = self.pos.checked_sub(1).and_then(|p| self.tokens.get(p)) {
            (error.line, error.column, error.found) = (t.line, t.column, t.kind.describe());
        }
        error
    }

    /// `(pk, c1, c2)` or `((pk1, pk2), c1, c2)`, after `PRIMARY KEY`.
    fn primary_key(&mut self) -> PResult<PrimaryKey> {
        self.expect_symbol(Symbol::LeftParen)?;
        let partition_key = if self.is_symbol(Symbol::LeftParen) {
            self.parenthesized(Self::identifier)?
        } else {
            vec![self.identifier()?]
        };
        let mut clustering = Vec::new();
        while self.eat_symbol(Symbol::Comma) {
            clustering.push(self.identifier()?);
        }
        self.expect_symbol(Symbol::RightParen)?;
        Ok(PrimaryKey {
            partition_key,
            clustering,
        })
    }

    /// `name type [STATIC]`.
    fn column_definition(&mut self) -> PResult<ColumnDefinition> {
        let name = self.identifier()?;
        let ty = self.type_name()?;
        let is_static = self.eat_keyword("STATIC");
        Ok(ColumnDefinition {
            name,
            ty,
            is_static,
        })
    }

    fn table_options(&mut self) -> PResult<TableOptions> {
        let mut options = TableOptions::default();
        loop {
            if self.eat_keywords(&["CLUSTERING", "ORDER", "BY"])? {
                options.clustering_order = self.parenthesized(Self::ordering)?;
            } else if self.eat_keywords(&["COMPACT", "STORAGE"])? {
                options.compact_storage = true;
            } else {
                options.properties.push(self.property()?);
            }
            if !self.eat_keyword("AND") {
                return Ok(options);
            }
        }
    }

    /// `name = value AND ...`.
    fn properties(&mut self) -> PResult<Vec<Property>> {
        let mut properties = vec![self.property()?];
        while self.eat_keyword("AND") {
            properties.push(self.property()?);
        }
        Ok(properties)
    }

    fn property(&mut self) -> PResult<Property> {
        let name = self.identifier().map_err(|mut e| {
            e.expected = "an option name".to_owned();
            e
        })?;
        self.expect_symbol(Symbol::Equal)?;
        let value = if self.eat_symbol(Symbol::LeftBrace) {
            let mut entries = Vec::new();
            if !self.eat_symbol(Symbol::RightBrace) {
                loop {
                    let key = self.constant()?;
                    self.expect_symbol(Symbol::Colon)?;
                    entries.push((key, self.constant()?));
                    if self.eat_symbol(Symbol::RightBrace) {
                        break;
                    }
                    if !self.eat_symbol(Symbol::Comma) {
                        return Err(self.error(", or }"));
                    }
                }
            }
            PropertyValue::Map(entries)
        } else if let TokenKind::Identifier(word) = self.peek() {
            let word = word.clone();
            self.advance();
            PropertyValue::Identifier(word)
        } else {
            PropertyValue::Literal(self.constant()?)
        };
        Ok(Property { name, value })
    }

    fn constant(&mut self) -> PResult<crate::ast::Literal> {
        match self.literal()? {
            Some(literal) => Ok(literal),
            None => Err(self.error("a constant")),
        }
    }

    pub(super) fn alter(&mut self) -> PResult<Statement> {
        self.expect_keyword("ALTER")?;
        if self.eat_keyspace_word() {
            let if_exists = self.eat_keywords(&["IF", "EXISTS"])?;
            let name = self.identifier()?;
            self.expect_keyword("WITH")?;
            let properties = self.properties()?;
            return Ok(Statement::AlterKeyspace(AlterKeyspace {
                name,
                if_exists,
                properties,
            }));
        }
        if !self.eat_table_word() {
            return Err(self.error("KEYSPACE or TABLE"));
        }
        let if_exists = self.eat_keywords(&["IF", "EXISTS"])?;
        let name = self.qualified_name()?;
        let action = if self.eat_keyword("ADD") {
            let if_not_exists = self.eat_keywords(&["IF", "NOT", "EXISTS"])?;
            let columns = if self.is_symbol(Symbol::LeftParen) {
                self.parenthesized(Self::column_definition)?
            } else {
                vec![self.column_definition()?]
            };
            AlterTableAction::Add {
                if_not_exists,
                columns,
            }
        } else if self.eat_keyword("DROP") {
            let if_exists = self.eat_keywords(&["IF", "EXISTS"])?;
            let columns = if self.is_symbol(Symbol::LeftParen) {
                self.parenthesized(Self::identifier)?
            } else {
                vec![self.identifier()?]
            };
            AlterTableAction::Drop { if_exists, columns }
        } else if self.eat_keyword("RENAME") {
            let mut renames = Vec::new();
            loop {
                let from = self.identifier()?;
                self.expect_keyword("TO")?;
                renames.push((from, self.identifier()?));
                if !self.eat_keyword("AND") {
                    break;
                }
            }
            AlterTableAction::Rename(renames)
        } else if self.eat_keyword("WITH") {
            AlterTableAction::With(self.properties()?)
        } else {
            return Err(self.error("ADD, DROP, RENAME or WITH"));
        };
        Ok(Statement::AlterTable(AlterTable {
            name,
            if_exists,
            action,
        }))
    }

    pub(super) fn drop_statement(&mut self) -> PResult<Statement> {
        self.expect_keyword("DROP")?;
        if self.eat_keyspace_word() {
            let if_exists = self.eat_keywords(&["IF", "EXISTS"])?;
            let name = self.identifier()?;
            return Ok(Statement::DropKeyspace(DropKeyspace { name, if_exists }));
        }
        if self.eat_table_word() {
            let if_exists = self.eat_keywords(&["IF", "EXISTS"])?;
            let name = self.qualified_name()?;
            return Ok(Statement::DropTable(DropTable { name, if_exists }));
        }
        Err(self.error("KEYSPACE or TABLE"))
    }
}
