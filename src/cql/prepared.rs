//! The prepared-statement cache: statement ids are the MD5 of the keyspace and
//! the query text, as Cassandra computes them, so an id is the same on every node
//! and after a restart, and a driver can re-prepare transparently after eviction.

use std::sync::Arc;

use md5::{Digest, Md5};

/// A prepared statement id (16 bytes of MD5).
pub(crate) type StatementId = [u8; 16];

/// The id of `query` prepared with `keyspace` as the session keyspace.
pub(crate) fn statement_id(keyspace: Option<&str>, query: &str) -> StatementId {
    let mut md5 = Md5::new();
    md5.update(keyspace.unwrap_or("").as_bytes());
    md5.update(query.as_bytes());
    md5.finalize().into()
}

/// A bounded map from id to prepared statement, evicting the least recently used.
pub(crate) struct PreparedCache<T> {
    entries: quick_cache::sync::Cache<StatementId, Arc<T>>,
}

impl<T> std::fmt::Debug for PreparedCache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCache")
            .field("len", &self.entries.len())
            .finish()
    }
}

impl<T: Send + Sync + 'static> PreparedCache<T> {
    /// A cache holding at most `capacity` statements.
    pub(crate) fn new(capacity: usize) -> Self {
        PreparedCache {
            entries: quick_cache::sync::Cache::new(capacity.max(1)),
        }
    }

    /// The statement with `id`, if still cached.
    pub(crate) fn get(&self, id: &[u8]) -> Option<Arc<T>> {
        let id: StatementId = id.try_into().ok()?;
        self.entries.get(&id)
    }

    /// Caches `statement` under `id`.
    pub(crate) fn insert(&self, id: StatementId, statement: Arc<T>) {
        self.entries.insert(id, statement);
    }

    /// How many statements are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_md5_of_keyspace_and_text() {
        // md5("ksSELECT * FROM t") computed independently with coreutils' md5sum.
        let id = statement_id(Some("ks"), "SELECT * FROM t");
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "125e492ea51717990eba4738bbb59bdb");
        assert_ne!(id, statement_id(None, "SELECT * FROM t"));
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = PreparedCache::new(10);
        for i in 0..100u8 {
            cache.insert([i; 16], Arc::new(i));
        }
        assert!(cache.len() <= 10, "{}", cache.len());
        assert!(cache.get(&[1, 2]).is_none());
    }
}
