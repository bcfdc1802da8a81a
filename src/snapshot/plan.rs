//! What a crawl reads: every declared section, or only the sections the enabled rules need
//! (their `requires`, and what their facts join on in other resources). A section left out
//! is recorded as an error with code `NotRequested`, never as absent: a rule enabled later
//! on the same snapshot is `unknown` for it, never `pass`.

use std::collections::BTreeSet;

use super::{ACCOUNT_SECTIONS, BUCKET_SECTIONS, ReadFailure, Section, Snapshot};

/// The AWS error code of a section the crawl did not ask for.
pub const NOT_REQUESTED: &str = "NotRequested";

/// Sections that can only be read after another one: `GetBucketPolicyStatus` is asked only
/// of a bucket whose policy was read and exists.
const READ_AFTER: &[(&str, &str)] = &[("bucket.policy_status", "bucket.policy")];

/// The sections a crawl reads, as `bucket.<name>` and `account.<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlan {
    /// `None`: every declared section.
    sections: Option<BTreeSet<String>>,
}

impl ReadPlan {
    /// Every declared section (`--read-all`, and whenever every rule is enabled).
    pub fn everything() -> Self {
        ReadPlan { sections: None }
    }

    /// Only these sections (and what they can only be read after). A name that is not a
    /// declared bucket or account section is a programming error of the caller.
    pub fn only<I, S>(sections: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut sections: BTreeSet<String> = sections.into_iter().map(Into::into).collect();
        for (section, after) in READ_AFTER {
            if sections.contains(*section) {
                sections.insert((*after).to_string());
            }
        }
        for section in &sections {
            assert!(
                declared(section),
                "`{section}` is not a declared bucket or account section"
            );
        }
        if BUCKET_SECTIONS
            .iter()
            .map(|s| format!("bucket.{s}"))
            .chain(ACCOUNT_SECTIONS.iter().map(|s| format!("account.{s}")))
            .all(|s| sections.contains(&s))
        {
            return ReadPlan::everything();
        }
        ReadPlan {
            sections: Some(sections),
        }
    }

    pub fn reads_everything(&self) -> bool {
        self.sections.is_none()
    }

    /// Whether the crawl reads `bucket.<name>`.
    pub fn reads_bucket(&self, name: &str) -> bool {
        self.reads("bucket", name)
    }

    /// Whether the crawl reads `account.<name>`.
    pub fn reads_account(&self, name: &str) -> bool {
        self.reads("account", name)
    }

    fn reads(&self, owner: &str, name: &str) -> bool {
        self.sections
            .as_ref()
            .is_none_or(|s| s.contains(&format!("{owner}.{name}")))
    }

    /// The sections read, or `None` for every declared section.
    pub fn sections(&self) -> Option<&BTreeSet<String>> {
        self.sections.as_ref()
    }

    /// The snapshot a crawl with this plan would have written of the same organization: every
    /// section the plan leaves out marked `NotRequested`. Tests use it to show that a plan
    /// decides every enabled rule as a full crawl does.
    pub fn apply(&self, snapshot: &mut Snapshot) {
        for account in &mut snapshot.accounts {
            for name in ACCOUNT_SECTIONS {
                if !self.reads_account(name) {
                    account.set_not_requested(name);
                }
            }
            for bucket in account.buckets.value_mut().into_iter().flatten() {
                for name in BUCKET_SECTIONS {
                    if !self.reads_bucket(name) {
                        bucket.set_not_requested(name);
                    }
                }
            }
        }
    }
}

fn declared(section: &str) -> bool {
    match section.split_once('.') {
        Some(("bucket", name)) => BUCKET_SECTIONS.contains(&name),
        Some(("account", name)) => ACCOUNT_SECTIONS.contains(&name),
        _ => false,
    }
}

impl<T> Section<T> {
    /// A section the crawl did not read because no enabled rule needed it.
    pub fn not_requested() -> Self {
        Section::error(ReadFailure {
            code: Some(NOT_REQUESTED.into()),
            message: "not read: no rule enabled for the crawl needed it (s3audit reads only what \
                      its enabled rules need; crawl with --read-all for a complete snapshot)"
                .into(),
            ..ReadFailure::default()
        })
    }

    pub fn value_mut(&mut self) -> Option<&mut T> {
        match self {
            Section::Present { value } => Some(value),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Account, Bucket};

    #[test]
    fn a_plan_of_every_section_reads_everything() {
        let all = BUCKET_SECTIONS
            .iter()
            .map(|s| format!("bucket.{s}"))
            .chain(ACCOUNT_SECTIONS.iter().map(|s| format!("account.{s}")));
        assert!(ReadPlan::only(all).reads_everything());
    }

    #[test]
    fn policy_status_brings_the_policy() {
        let plan = ReadPlan::only(["bucket.policy_status"]);
        assert!(plan.reads_bucket("policy"));
        assert!(plan.reads_bucket("policy_status"));
        assert!(!plan.reads_bucket("acl"));
        assert!(!plan.reads_account("trails"));
    }

    #[test]
    fn apply_marks_what_the_plan_leaves_out_and_keeps_the_rest() {
        let mut account = Account::all_absent("111111111111");
        account.buckets = Section::present(vec![Bucket::all_absent("b", "us-east-1")]);
        let mut snapshot = Snapshot::new("2026-12-05T00:00:00Z", "aws", None, vec![account]);
        ReadPlan::only(["bucket.acl", "account.trails"]).apply(&mut snapshot);
        let account = &snapshot.accounts[0];
        let bucket = &account.buckets.value().unwrap()[0];
        assert_eq!(bucket.acl, Section::absent());
        assert_eq!(bucket.policy, Section::not_requested());
        assert_eq!(account.trails, Section::absent());
        assert_eq!(account.macie, Section::not_requested());
    }
}
