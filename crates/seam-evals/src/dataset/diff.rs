//! What changed between two versions of a dataset: cases added, removed, and changed (by id),
//! with the top-level keys whose content differs.

use super::{Dataset, canonical_json};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub id: String,
    /// The case's top-level keys whose content differs (added, removed or changed), sorted.
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetDiff {
    pub from_version: String,
    pub to_version: String,
    /// Ids only in the second, sorted.
    pub added: Vec<String>,
    /// Ids only in the first, sorted.
    pub removed: Vec<String>,
    /// Ids in both whose content differs, sorted.
    pub changed: Vec<Change>,
    /// Cases in both with the same content.
    pub unchanged: usize,
}

impl DatasetDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// `to` against `from`, case by case.
pub fn diff(from: &Dataset, to: &Dataset) -> DatasetDiff {
    let a: BTreeMap<&str, &serde_json::Value> = from
        .cases
        .iter()
        .map(|c| (c.id.as_str(), &c.content))
        .collect();
    let b: BTreeMap<&str, &serde_json::Value> = to
        .cases
        .iter()
        .map(|c| (c.id.as_str(), &c.content))
        .collect();
    let added = b
        .keys()
        .filter(|k| !a.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    let removed = a
        .keys()
        .filter(|k| !b.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    let mut changed = Vec::new();
    let mut unchanged = 0;
    for (id, old) in &a {
        let Some(new) = b.get(id) else { continue };
        if canonical_json(old) == canonical_json(new) {
            unchanged += 1;
            continue;
        }
        let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
            continue;
        };
        let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
        let keys = keys
            .into_iter()
            .filter(|k| o.get(*k).map(canonical_json) != n.get(*k).map(canonical_json))
            .cloned()
            .collect();
        changed.push(Change {
            id: id.to_string(),
            keys,
        });
    }
    DatasetDiff {
        from_version: from.version.clone(),
        to_version: to.version.clone(),
        added,
        removed,
        changed,
        unchanged,
    }
}
