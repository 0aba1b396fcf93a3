//! Reads typed values out of a generic YAML mapping, one key at a time,
//! collecting problems instead of stopping at the first.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use serde_yaml_ng::{Mapping, Value};

/// Takes keys out of a mapping; whatever is left at the end is unknown.
#[derive(Debug)]
pub(super) struct Reader {
    mapping: Mapping,
    known: Vec<&'static str>,
    problems: Vec<String>,
    /// Keys that had a problem, so rules spanning several keys can skip them
    /// rather than compare against a default the user never chose.
    failed: BTreeSet<&'static str>,
}

/// What `finish` hands back: every problem, and the keys that had one.
#[derive(Debug)]
pub(super) struct Findings {
    pub(super) problems: Vec<String>,
    pub(super) failed: BTreeSet<&'static str>,
}

impl Reader {
    pub(super) fn new(mapping: Mapping) -> Reader {
        Reader {
            mapping,
            known: Vec::new(),
            problems: Vec::new(),
            failed: BTreeSet::new(),
        }
    }

    /// Records a problem with `key`.
    pub(super) fn problem(&mut self, key: &'static str, message: String) {
        self.problems.push(format!("{key}: {message}"));
        self.failed.insert(key);
    }

    /// Every key asked for so far.
    pub(super) fn known_keys(&self) -> Vec<&'static str> {
        self.known.clone()
    }

    /// Removes `key`'s value; `None` when absent or null (null keeps the default).
    fn take(&mut self, key: &'static str) -> Option<Value> {
        self.known.push(key);
        match self.mapping.shift_remove(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        }
    }

    /// Lets `alias` stand for `key`; both set at once is a problem.
    pub(super) fn alias(&mut self, key: &'static str, alias: &'static str) {
        self.known.push(alias);
        let Some(value) = self.mapping.shift_remove(alias) else {
            return;
        };
        if self.mapping.contains_key(key) {
            self.problem(alias, format!("is another name for {key}; set only one"));
        } else {
            self.mapping.insert(Value::String(key.to_owned()), value);
        }
    }

    /// An integer in `range`, stored as `T` (which must hold the whole range).
    pub(super) fn int<T: TryFrom<i64>>(
        &mut self,
        key: &'static str,
        slot: &mut T,
        range: RangeInclusive<i64>,
    ) {
        let Some(value) = self.take(key) else { return };
        let Some(n) = value.as_i64() else {
            self.problem(
                key,
                format!("expected an integer, got {}", describe(&value)),
            );
            return;
        };
        match T::try_from(n) {
            Ok(v) if range.contains(&n) => *slot = v,
            _ => self.problem(
                key,
                format!(
                    "must be between {} and {}, got {n}",
                    range.start(),
                    range.end()
                ),
            ),
        }
    }

    /// `true` or `false`.
    pub(super) fn boolean(&mut self, key: &'static str, slot: &mut bool) {
        let Some(value) = self.take(key) else { return };
        match value.as_bool() {
            Some(b) => *slot = b,
            None => self.problem(
                key,
                format!("expected true or false, got {}", describe(&value)),
            ),
        }
    }

    /// A finite number in `range` (integers are accepted too).
    pub(super) fn float(&mut self, key: &'static str, slot: &mut f64, range: RangeInclusive<f64>) {
        let Some(value) = self.take(key) else { return };
        match value.as_f64() {
            Some(x) if range.contains(&x) => *slot = x,
            Some(x) => self.problem(
                key,
                format!(
                    "must be between {} and {}, got {x}",
                    range.start(),
                    range.end()
                ),
            ),
            None => self.problem(key, format!("expected a number, got {}", describe(&value))),
        }
    }

    /// A string that is not blank. Returns whether the key was set without problems.
    pub(super) fn non_empty_string(&mut self, key: &'static str, slot: &mut String) -> bool {
        let Some(value) = self.take(key) else {
            return false;
        };
        match value {
            Value::String(s) if !s.trim().is_empty() => {
                *slot = s;
                true
            }
            Value::String(_) => {
                self.problem(key, "must not be empty".to_owned());
                false
            }
            other => {
                self.problem(key, format!("expected a string, got {}", describe(&other)));
                false
            }
        }
    }

    /// A string turned into `T` by `parse`; `expected` says what would have parsed.
    pub(super) fn parsed<T>(
        &mut self,
        key: &'static str,
        slot: &mut T,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) {
        let Some(value) = self.take(key) else { return };
        match value.as_str().map(&parse) {
            Some(Some(v)) => *slot = v,
            _ => self.problem(
                key,
                format!("expected {expected}, got {}", describe(&value)),
            ),
        }
    }

    /// A list of non-blank strings. Returns whether the key was set without problems.
    pub(super) fn string_list(&mut self, key: &'static str, slot: &mut Vec<String>) -> bool {
        let Some(value) = self.take(key) else {
            return false;
        };
        let Value::Sequence(items) = value else {
            self.problem(key, format!("expected a list, got {}", describe(&value)));
            return false;
        };
        let mut strings = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(s) if !s.trim().is_empty() => strings.push(s.to_owned()),
                Some(_) => self.problem(key, format!("item {i} must not be empty")),
                None => self.problem(
                    key,
                    format!("item {i}: expected a string, got {}", describe(item)),
                ),
            }
        }
        if self.failed.contains(key) {
            return false;
        }
        *slot = strings;
        true
    }

    /// Reports every key nobody asked for, then hands back all findings.
    pub(super) fn finish(mut self) -> Findings {
        let known = std::mem::take(&mut self.known);
        for key in self.mapping.keys() {
            let problem = match key.as_str() {
                Some(name) => match closest(name, &known) {
                    Some(guess) => format!("unknown key `{name}` (did you mean `{guess}`?)"),
                    None => format!("unknown key `{name}`"),
                },
                None => format!("keys must be strings, got {}", describe(key)),
            };
            self.problems.push(problem);
        }
        Findings {
            problems: self.problems,
            failed: self.failed,
        }
    }
}

/// A short description of a value for messages: its kind, and the value itself
/// when it is a scalar.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string `{s}`"),
        Value::Sequence(_) => "a list".to_owned(),
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

/// The known key nearest to a misspelt one, if any is near enough to be a
/// plausible typo (edit distance at most a third of its length).
fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, k)| *d > 0 && *d <= k.len().div_ceil(3))
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance over bytes (keys are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("seeds", "seeds"), 0);
        assert_eq!(edit_distance("seed", "seeds"), 1);
        assert_eq!(edit_distance("sedes", "seeds"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn closest_ignores_far_keys() {
        let known = ["num_tokens", "seeds"];
        assert_eq!(closest("num_token", &known), Some("num_tokens"));
        assert_eq!(closest("memtable_heap_space", &known), None);
    }
}
