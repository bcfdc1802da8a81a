//! Shards and their merge. `s3audit --org --shard K/N` reads the accounts whose id hashes to
//! shard K of N; `s3audit merge` puts the N snapshots back together into the snapshot one
//! unsharded run would have written, and refuses anything that would not be that: parts of
//! different organizations or s3audit versions, a shard given twice or missing, an account in
//! two parts or in the wrong shard, or organization listings that disagree (an account added
//! between two shards' runs would otherwise be audited by nobody, silently).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Snapshot;

/// Shard `index` of `count` (0-based, as a GitHub Actions matrix index or a Kubernetes
/// Indexed Job's `JOB_COMPLETION_INDEX`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `K/N` with `0 <= K < N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not K/N (e.g. 0/4: the first of four shards)"))?;
        let number = |part: &str, what: &str| {
            part.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{text}`: the {what} `{part}` is not a number"))
        };
        let (index, count) = (number(index, "shard index")?, number(count, "shard count")?);
        if count == 0 || index >= count {
            return Err(format!(
                "`{text}`: the shard index counts from 0 and must be below the count \
                 (0/{count} … {}/{count})",
                count.max(1) - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard an account belongs to among `count`: from a hash of its id only, so adding
    /// or removing an account never moves another one to a different shard.
    pub fn of(account_id: &str, count: u32) -> u32 {
        let digest = Sha256::digest(account_id.as_bytes());
        let head: [u8; 8] = digest[..8]
            .try_into()
            .expect("a SHA-256 digest has 32 bytes");
        (u64::from_be_bytes(head) % u64::from(count.max(1))) as u32
    }

    pub fn contains(&self, account_id: &str) -> bool {
        Shard::of(account_id, self.count) == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give the snapshots of every shard")]
    Empty,
    #[error(
        "{a} and {b} were written by different s3audit versions ({a_version} and {b_version}); run every shard with one version"
    )]
    Version {
        a: PathBuf,
        b: PathBuf,
        a_version: String,
        b_version: String,
    },
    #[error("{a} and {b} are of different partitions ({a_partition} and {b_partition})")]
    Partition {
        a: PathBuf,
        b: PathBuf,
        a_partition: String,
        b_partition: String,
    },
    #[error("{a} and {b} are of different organizations ({a_org} and {b_org})")]
    Organization {
        a: PathBuf,
        b: PathBuf,
        a_org: String,
        b_org: String,
    },
    #[error(
        "the organization changed between the shards' runs: account {account} is listed by {listed} but not by {unlisted}; run the shards again"
    )]
    Membership {
        account: String,
        listed: PathBuf,
        unlisted: PathBuf,
    },
    #[error(
        "{a} is shard {a_shard} and {b} is shard {b_shard}: every part must be a shard of the same count"
    )]
    ShardCount {
        a: PathBuf,
        b: PathBuf,
        a_shard: String,
        b_shard: String,
    },
    #[error("{a} is not a shard (a whole run) but {b} is shard {b_shard}: merge the shards only")]
    Mixed {
        a: PathBuf,
        b: PathBuf,
        b_shard: String,
    },
    #[error("shard {shard} is given twice: {a} and {b}")]
    DuplicateShard {
        shard: String,
        a: PathBuf,
        b: PathBuf,
    },
    #[error("shard{} {} of {count} missing: the merge would not hold every account", if .missing.len() > 1 { "s" } else { "" }, .missing.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))]
    MissingShards { missing: Vec<u32>, count: u32 },
    #[error("account {account} is in both {a} and {b}: the parts overlap")]
    Overlap {
        account: String,
        a: PathBuf,
        b: PathBuf,
    },
    #[error(
        "{path} is shard {shard} but holds account {account}, which belongs to shard {expected}/{count}"
    )]
    WrongShard {
        path: PathBuf,
        shard: String,
        account: String,
        expected: u32,
        count: u32,
    },
}

/// Merges the snapshots of a sharded run (or of disjoint runs of one organization) into one.
pub fn merge(parts: Vec<(PathBuf, Snapshot)>) -> Result<Snapshot, MergeError> {
    let Some((first_path, first)) = parts.first() else {
        return Err(MergeError::Empty);
    };
    for (path, part) in &parts[1..] {
        check_compatible(first_path, first, path, part)?;
    }
    check_shards(&parts)?;

    let mut owner_of: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut api_calls: BTreeMap<String, u64> = BTreeMap::new();
    let mut accounts = Vec::new();
    let mut started_at = first.started_at.clone();
    let mut duration_ms = 0;
    let (schema_version, tool) = (first.schema_version, first.tool.clone());
    let (partition, organization) = (first.partition.clone(), first.organization.clone());
    for (path, part) in parts {
        for account in &part.accounts {
            if let Some(other) = owner_of.insert(account.id.clone(), path.clone()) {
                return Err(MergeError::Overlap {
                    account: account.id.clone(),
                    a: other,
                    b: path,
                });
            }
        }
        for (operation, calls) in &part.api_calls {
            *api_calls.entry(operation.clone()).or_default() += calls;
        }
        // RFC 3339 times of one format compare as text.
        if part.started_at < started_at {
            started_at = part.started_at.clone();
        }
        // The shards run side by side: the merged run took as long as the longest one.
        duration_ms = duration_ms.max(part.duration_ms);
        accounts.extend(part.accounts);
    }
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Snapshot {
        schema_version,
        tool,
        started_at,
        duration_ms,
        partition,
        organization,
        accounts,
        api_calls,
        shard: None,
    })
}

fn check_compatible(
    a: &Path,
    first: &Snapshot,
    b: &Path,
    part: &Snapshot,
) -> Result<(), MergeError> {
    if first.tool != part.tool {
        return Err(MergeError::Version {
            a: a.to_path_buf(),
            b: b.to_path_buf(),
            a_version: first.tool.version.clone(),
            b_version: part.tool.version.clone(),
        });
    }
    if first.partition != part.partition {
        return Err(MergeError::Partition {
            a: a.to_path_buf(),
            b: b.to_path_buf(),
            a_partition: first.partition.clone(),
            b_partition: part.partition.clone(),
        });
    }
    let org_id = |s: &Snapshot| {
        s.organization.as_ref().map_or_else(
            || "no organization (not --org)".to_string(),
            |o| o.id.clone(),
        )
    };
    if org_id(first) != org_id(part) {
        return Err(MergeError::Organization {
            a: a.to_path_buf(),
            b: b.to_path_buf(),
            a_org: org_id(first),
            b_org: org_id(part),
        });
    }
    if let (Some(x), Some(y)) = (&first.organization, &part.organization) {
        let (xs, ys): (BTreeSet<&String>, BTreeSet<&String>) = (
            x.account_ids.iter().collect(),
            y.account_ids.iter().collect(),
        );
        if let Some(account) = xs.difference(&ys).next() {
            return Err(MergeError::Membership {
                account: account.to_string(),
                listed: a.to_path_buf(),
                unlisted: b.to_path_buf(),
            });
        }
        if let Some(account) = ys.difference(&xs).next() {
            return Err(MergeError::Membership {
                account: account.to_string(),
                listed: b.to_path_buf(),
                unlisted: a.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Either no part is a shard (disjoint runs), or the parts are exactly the shards 0..N of one
/// N, each holding only its own accounts.
fn check_shards(parts: &[(PathBuf, Snapshot)]) -> Result<(), MergeError> {
    let sharded = parts.iter().find(|(_, p)| p.shard.is_some());
    let Some((sharded_path, Some(reference))) = sharded.map(|(path, p)| (path, p.shard)) else {
        return Ok(());
    };
    let mut seen: BTreeMap<u32, &PathBuf> = BTreeMap::new();
    for (path, part) in parts {
        let Some(shard) = part.shard else {
            return Err(MergeError::Mixed {
                a: path.clone(),
                b: sharded_path.clone(),
                b_shard: reference.to_string(),
            });
        };
        if shard.count != reference.count {
            return Err(MergeError::ShardCount {
                a: sharded_path.clone(),
                b: path.clone(),
                a_shard: reference.to_string(),
                b_shard: shard.to_string(),
            });
        }
        if let Some(other) = seen.insert(shard.index, path) {
            return Err(MergeError::DuplicateShard {
                shard: shard.to_string(),
                a: other.clone(),
                b: path.clone(),
            });
        }
        if let Some(account) = part.accounts.iter().find(|a| !shard.contains(&a.id)) {
            return Err(MergeError::WrongShard {
                path: path.clone(),
                shard: shard.to_string(),
                account: account.id.clone(),
                expected: Shard::of(&account.id, shard.count),
                count: shard.count,
            });
        }
    }
    let missing: Vec<u32> = (0..reference.count)
        .filter(|i| !seen.contains_key(i))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::MissingShards {
            missing,
            count: reference.count,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Account, AccountAccess, Organization, Section};

    fn account(id: &str) -> Account {
        Account::every_section(id, None, AccountAccess::Caller, &Section::absent())
    }

    fn organization() -> Organization {
        Organization {
            id: "o-example".into(),
            management_account_id: "111111111111".into(),
            account_ids: (1..=9)
                .map(|i| format!("{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}{i}"))
                .collect(),
        }
    }

    /// The snapshots of `count` shards of the organization's accounts.
    fn shards(count: u32) -> Vec<(PathBuf, Snapshot)> {
        (0..count)
            .map(|index| {
                let shard = Shard { index, count };
                let accounts = organization()
                    .account_ids
                    .iter()
                    .filter(|id| shard.contains(id))
                    .map(|id| account(id))
                    .collect();
                let mut snapshot = Snapshot::new(
                    &format!("2026-12-02T10:0{index}:00Z"),
                    "aws",
                    Some(organization()),
                    accounts,
                );
                snapshot.shard = Some(shard);
                snapshot.duration_ms = 1000 + u64::from(index);
                snapshot.api_calls.insert("s3:ListBuckets".into(), 2);
                (PathBuf::from(format!("shard-{index}.json")), snapshot)
            })
            .collect()
    }

    #[test]
    fn shard_parse_counts_from_zero() {
        assert_eq!(Shard::parse("0/4"), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(Shard::parse("3/4"), Ok(Shard { index: 3, count: 4 }));
        for bad in ["4/4", "1/0", "x/4", "2", "-1/4"] {
            assert!(Shard::parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn every_account_is_in_exactly_one_shard_and_stays_there() {
        let ids: Vec<String> = (0..1000).map(|i| format!("{:012}", 100_000 + i)).collect();
        let mut sizes = [0usize; 4];
        for id in &ids {
            let owners: Vec<u32> = (0..4)
                .filter(|&index| Shard { index, count: 4 }.contains(id))
                .collect();
            assert_eq!(owners.len(), 1, "{id} is in shards {owners:?}");
            sizes[owners[0] as usize] += 1;
        }
        // Balanced within a few percent, not all in one shard.
        assert!(sizes.iter().all(|&n| (200..300).contains(&n)), "{sizes:?}");
        // The hash is fixed: changing it would move every account of every user.
        assert_eq!(Shard::of("123456789012", 4), Shard::of("123456789012", 4));
    }

    #[test]
    fn merging_every_shard_gives_the_whole_organization() {
        let merged = merge(shards(4)).expect("the shards merge");
        let ids: Vec<&str> = merged.accounts.iter().map(|a| a.id.as_str()).collect();
        let mut expected: Vec<String> = organization().account_ids;
        expected.sort();
        assert_eq!(ids, expected.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(merged.shard, None);
        assert_eq!(merged.started_at, "2026-12-02T10:00:00Z");
        assert_eq!(merged.duration_ms, 1003);
        assert_eq!(merged.api_calls["s3:ListBuckets"], 8);
    }

    #[test]
    fn merging_refuses_what_is_not_one_whole_run() {
        let error = |parts: Vec<(PathBuf, Snapshot)>| merge(parts).unwrap_err().to_string();

        let mut parts = shards(4);
        parts.remove(2);
        assert_eq!(
            error(parts),
            "shard 2 of 4 missing: the merge would not hold every account"
        );

        let mut parts = shards(4);
        parts.push(parts[1].clone());
        assert!(error(parts).starts_with("shard 1/4 is given twice"));

        let mut parts = shards(4);
        parts[3].1.organization.as_mut().unwrap().id = "o-other".into();
        assert!(error(parts).contains("different organizations (o-example and o-other)"));

        let mut parts = shards(4);
        parts[1].1.shard = Some(Shard { index: 1, count: 3 });
        assert!(error(parts).contains("every part must be a shard of the same count"));

        let mut parts = shards(4);
        let moved = parts[0].1.accounts.pop().expect("shard 0 has an account");
        parts[1].1.accounts.push(moved);
        assert!(error(parts).contains("which belongs to shard 0/4"));

        let mut parts = shards(4);
        parts[2].1.organization.as_mut().unwrap().account_ids.pop();
        assert!(error(parts).contains("the organization changed between the shards' runs"));

        let mut parts = shards(4);
        parts[0].1.shard = None;
        assert!(error(parts).contains("is not a shard"));

        let mut parts = shards(4);
        parts[1].1.tool.version = "0.0.1".into();
        assert!(error(parts).contains("different s3audit versions"));
    }

    #[test]
    fn disjoint_unsharded_runs_merge_and_overlapping_ones_do_not() {
        let run = |ids: &[&str]| {
            Snapshot::new(
                "2026-12-02T10:00:00Z",
                "aws",
                None,
                ids.iter().map(|id| account(id)).collect(),
            )
        };
        let merged = merge(vec![
            ("a.json".into(), run(&["222222222222"])),
            ("b.json".into(), run(&["111111111111"])),
        ])
        .expect("disjoint runs merge");
        assert_eq!(merged.accounts[0].id, "111111111111");
        let overlap = merge(vec![
            ("a.json".into(), run(&["111111111111"])),
            ("b.json".into(), run(&["111111111111"])),
        ])
        .unwrap_err();
        assert_eq!(
            overlap.to_string(),
            "account 111111111111 is in both a.json and b.json: the parts overlap"
        );
    }
}
