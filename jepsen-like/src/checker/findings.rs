//! Findings: what a checker collects while it reads the history (violations,
//! reasons it cannot decide, figures) and how they become a [`Verdict`].
//!
//! Anomaly lines are bounded so a badly broken run cannot produce a report
//! the size of its history; the totals stay in the figures.

use std::collections::BTreeMap;

use super::{Validity, Verdict};

/// At most this many anomaly lines per verdict.
pub(crate) const MAX_ANOMALIES: usize = 20;

/// One property's findings, turned into a verdict by [`Findings::finish`].
#[derive(Debug)]
pub(crate) struct Findings {
    property: String,
    violations: usize,
    undecided: usize,
    anomalies: Vec<String>,
    figures: BTreeMap<String, serde_json::Value>,
}

impl Findings {
    pub(crate) fn new(property: impl Into<String>) -> Self {
        Self {
            property: property.into(),
            violations: 0,
            undecided: 0,
            anomalies: Vec::new(),
            figures: BTreeMap::new(),
        }
    }

    /// The history shows the property broken.
    pub(crate) fn violation(&mut self, line: String) {
        self.violations += 1;
        self.push(line);
    }

    /// The history cannot decide part of the property (a key without a
    /// final read, say).
    pub(crate) fn undecided(&mut self, line: String) {
        self.undecided += 1;
        self.push(line);
    }

    /// The number of violations so far.
    pub(crate) fn violations(&self) -> usize {
        self.violations
    }

    fn push(&mut self, line: String) {
        if self.anomalies.len() < MAX_ANOMALIES {
            self.anomalies.push(line);
        }
    }

    pub(crate) fn figure(&mut self, name: &str, value: impl Into<serde_json::Value>) {
        self.figures.insert(name.to_owned(), value.into());
    }

    /// The verdict: invalid on any violation (one is certain whatever else
    /// is missing), else unknown if anything was undecided, else valid.
    /// `what` says in a few words what was checked.
    pub(crate) fn finish(mut self, what: &str) -> Verdict {
        let (validity, summary) = if self.violations > 0 {
            let s = format!("{} violation(s); {what}", self.violations);
            (Validity::Invalid, s)
        } else if self.undecided > 0 {
            let s = format!("{} undecided; {what}", self.undecided);
            (Validity::Unknown, s)
        } else {
            (Validity::Valid, what.to_owned())
        };
        self.figures
            .insert("violations".to_owned(), self.violations.into());
        Verdict {
            property: self.property,
            validity,
            summary,
            figures: self.figures,
            anomalies: self.anomalies,
        }
    }
}

/// A malformed history decides nothing: the verdict becomes unknown and
/// its anomalies start with why.
pub(crate) fn mark_malformed(verdict: &mut Verdict, why: &[String]) {
    if why.is_empty() {
        return;
    }
    verdict.validity = Validity::Unknown;
    verdict.summary = format!("malformed history ({} problem(s))", why.len());
    let mut anomalies: Vec<String> = why.iter().take(MAX_ANOMALIES).cloned().collect();
    let room = MAX_ANOMALIES - anomalies.len();
    anomalies.extend(verdict.anomalies.drain(..).take(room));
    verdict.anomalies = anomalies;
    verdict
        .figures
        .insert("malformed".to_owned(), why.len().into());
}

/// The `q` quantile (0..=1) of sorted `values`, nearest rank.
pub(crate) fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let last = sorted.len() - 1;
    // Nearest rank: the value below which a fraction q of the data lies.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a rank within 0..=last, computed in floating point"
    )]
    let rank = ((last as f64) * q.clamp(0.0, 1.0)).round() as usize;
    sorted.get(rank.min(last)).copied()
}

/// `part / whole` as a percentage with one decimal; 100 for an empty whole.
pub(crate) fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 100.0;
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "operation counts are far below 2^52"
    )]
    let ratio = part as f64 / whole as f64;
    (ratio * 1000.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_beats_undecided_and_anomalies_are_bounded() {
        let mut findings = Findings::new("p");
        findings.undecided("no final read".to_owned());
        for n in 0..30 {
            findings.violation(format!("v{n}"));
        }
        let verdict = findings.finish("checked");
        assert_eq!(verdict.validity, Validity::Invalid);
        assert_eq!(verdict.anomalies.len(), MAX_ANOMALIES);
        assert_eq!(verdict.figures.get("violations"), Some(&30.into()));
    }

    #[test]
    fn undecided_alone_is_unknown() {
        let mut findings = Findings::new("p");
        findings.undecided("no final read".to_owned());
        assert_eq!(findings.finish("x").validity, Validity::Unknown);
        assert_eq!(Findings::new("p").finish("x").validity, Validity::Valid);
    }

    #[test]
    fn malformed_overrides_and_leads() {
        let mut verdict = Findings::new("p").finish("x");
        mark_malformed(&mut verdict, &["bad".to_owned()]);
        assert_eq!(verdict.validity, Validity::Unknown);
        assert_eq!(verdict.anomalies, ["bad"]);
    }

    #[test]
    fn quantiles_and_percentages() {
        let data = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(quantile(&data, 0.0), Some(1));
        assert_eq!(quantile(&data, 0.5), Some(6));
        assert_eq!(quantile(&data, 1.0), Some(10));
        assert_eq!(quantile(&[], 0.5), None);
        assert!((percent(1, 3) - 33.3).abs() < 1e-9);
        assert!((percent(0, 0) - 100.0).abs() < 1e-9);
    }
}
