//! The token ring: which host owns which tokens, and the ranges between them.
//!
//! Every host (identified by its [`HostId`]) owns one or more tokens (vnodes).
//! A token `t` owns the range `(previous token, t]`; the smallest token's range
//! wraps around from the largest token through `i64::MAX` and `i64::MIN`. With
//! a single token on the ring its range `(t, t]` is the whole ring.
//!
//! The ring knows placement only: liveness, gossip and replication strategies
//! live elsewhere and read it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

pub(crate) use storage::Token;

/// A host's identity, stable across address changes (Cassandra's host id UUID).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(pub [u8; 16]);

impl fmt::Debug for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostId({self})")
    }
}

impl fmt::Display for HostId {
    /// The UUID form Cassandra prints: 8-4-4-4-12 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A host of the cluster: its identity and where it sits in the topology.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The host's identity.
    pub host_id: HostId,
    /// The internode address.
    pub address: SocketAddr,
    /// The data center, as the snitch reports it.
    pub datacenter: String,
    /// The rack within the data center.
    pub rack: String,
}

/// A token range `(left, right]`, wrapping past `i64::MAX` when `left >= right`.
///
/// `left == right` is the whole ring: the range of the only token on a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenRange {
    /// The exclusive start.
    pub left: Token,
    /// The inclusive end: the token that owns the range.
    pub right: Token,
}

impl TokenRange {
    /// Whether `token` lies in the range.
    pub fn contains(&self, token: Token) -> bool {
        if self.left < self.right {
            self.left < token && token <= self.right
        } else {
            // Wrapping (or the whole ring): everything after left or up to right.
            token > self.left || token <= self.right
        }
    }

    /// Whether the range wraps past the end of the token space (or is all of it).
    pub fn wraps(&self) -> bool {
        self.left >= self.right
    }

    /// The range's share of the token space, in (0, 1].
    pub fn fraction(&self) -> f64 {
        if self.left == self.right {
            return 1.0;
        }
        // Two's complement subtraction is the clockwise distance even across
        // the wrap, so one formula serves both kinds of range.
        let width = (self.right.0 as u64).wrapping_sub(self.left.0 as u64);
        width as f64 / TOKEN_SPACE
    }
}

/// The number of tokens in the space, 2^64, as a float for fractions.
pub(crate) const TOKEN_SPACE: f64 = 18_446_744_073_709_551_616.0;

/// Why a change to the ring was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    /// The token is already owned by another host.
    #[error("token {token:?} is already owned by {owner}")]
    TokenTaken {
        /// The contested token.
        token: Token,
        /// Its current owner.
        owner: HostId,
    },
    /// A host joined without tokens: it would own nothing yet count as a member.
    #[error("host {0} has no tokens")]
    NoTokens(HostId),
}

/// The token ring: sorted tokens to their owning host, and each host's endpoint.
#[derive(Clone, Debug, Default)]
pub struct Ring {
    tokens: BTreeMap<Token, HostId>,
    endpoints: BTreeMap<HostId, Endpoint>,
}

impl Ring {
    /// An empty ring.
    pub fn new() -> Ring {
        Ring::default()
    }

    /// Adds a host with its tokens, or replaces the tokens of a host already on
    /// the ring. Refuses (changing nothing) a token another host owns.
    pub fn add(
        &mut self,
        endpoint: Endpoint,
        tokens: impl IntoIterator<Item = Token>,
    ) -> Result<(), RingError> {
        let host = endpoint.host_id;
        let tokens: Vec<Token> = tokens.into_iter().collect();
        if tokens.is_empty() {
            return Err(RingError::NoTokens(host));
        }
        for &token in &tokens {
            match self.tokens.get(&token) {
                Some(&owner) if owner != host => {
                    return Err(RingError::TokenTaken { token, owner });
                }
                _ => {}
            }
        }
        self.tokens.retain(|_, owner| *owner != host);
        self.tokens.extend(tokens.into_iter().map(|t| (t, host)));
        self.endpoints.insert(host, endpoint);
        Ok(())
    }

    /// Removes a host and its tokens, returning its endpoint if it was there.
    pub fn remove(&mut self, host: HostId) -> Option<Endpoint> {
        self.tokens.retain(|_, owner| *owner != host);
        self.endpoints.remove(&host)
    }

    /// The endpoint of a host on the ring.
    pub fn endpoint(&self, host: HostId) -> Option<&Endpoint> {
        self.endpoints.get(&host)
    }

    /// Every host on the ring, in host id order.
    pub fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.values()
    }

    /// How many hosts are on the ring.
    pub fn host_count(&self) -> usize {
        self.endpoints.len()
    }

    /// How many tokens are on the ring.
    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    /// Whether no host is on the ring.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Every token with its owner, in token order.
    pub fn tokens(&self) -> impl Iterator<Item = (Token, HostId)> + '_ {
        self.tokens.iter().map(|(&t, &h)| (t, h))
    }

    /// The tokens a host owns, in token order.
    pub fn tokens_of(&self, host: HostId) -> Vec<Token> {
        self.tokens()
            .filter(|&(_, owner)| owner == host)
            .map(|(t, _)| t)
            .collect()
    }

    /// The ring token whose range contains `token`: the first ring token at or
    /// after it, wrapping to the smallest. `None` on an empty ring.
    pub fn ring_token_for(&self, token: Token) -> Option<Token> {
        self.ring_from(token).next().map(|(t, _)| t)
    }

    /// The host whose range contains `token` (its primary replica).
    pub fn token_owner(&self, token: Token) -> Option<HostId> {
        self.ring_from(token).next().map(|(_, h)| h)
    }

    /// The range owned by the ring token that covers `token`.
    pub fn range_containing(&self, token: Token) -> Option<TokenRange> {
        let right = self.ring_token_for(token)?;
        Some(TokenRange {
            left: self.previous_token(right),
            right,
        })
    }

    /// The host's primary ranges, one per token it owns: `(previous, token]`.
    pub fn primary_ranges(&self, host: HostId) -> Vec<TokenRange> {
        self.tokens_of(host)
            .into_iter()
            .map(|right| TokenRange {
                left: self.previous_token(right),
                right,
            })
            .collect()
    }

    /// Every range of the ring with the token that owns it, in token order:
    /// `(previous, token]` for each token.
    pub fn ranges(&self) -> impl Iterator<Item = (TokenRange, HostId)> + '_ {
        let last = self.tokens.keys().next_back().copied();
        let lefts = last.into_iter().chain(self.tokens.keys().copied());
        lefts
            .zip(self.tokens())
            .map(|(left, (right, host))| (TokenRange { left, right }, host))
    }

    /// The ring's positions clockwise, starting at the first token at or after
    /// `token` and wrapping once around: each position exactly once. This is
    /// the walk replica placement makes.
    pub fn ring_from(&self, token: Token) -> impl Iterator<Item = (Token, HostId)> + '_ {
        self.tokens
            .range(token..)
            .chain(self.tokens.range(..token))
            .map(|(&t, &h)| (t, h))
    }

    /// The ring token before `token` (wrapping); `token` itself when alone.
    fn previous_token(&self, token: Token) -> Token {
        self.tokens
            .range(..token)
            .next_back()
            .or_else(|| self.tokens.iter().next_back())
            .map_or(token, |(&t, _)| t)
    }
}

#[cfg(test)]
mod tests;
