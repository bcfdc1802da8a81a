//! The organization's membership, read once (`s3audit list-accounts`) and shared by every
//! shard of a run (`--accounts-from FILE`): N shards then make one `DescribeOrganization`
//! call each instead of paging through `ListAccounts` (and, with an OU, walking it) N times,
//! and they audit exactly the same list, so no account created between two shards' starts is
//! audited by nobody.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};

use crate::snapshot::Organization;

/// The value of `format` in a listing file; a later incompatible layout gets a new one.
pub const LISTING_FORMAT: &str = "s3audit-account-listing/1";

/// What `s3audit list-accounts` needs: how to reach Organizations, and where to look.
#[derive(Debug, Clone)]
pub struct ListOptions {
    pub connection: super::clients::Connection,
    pub ou: Option<String>,
}

/// What `s3audit list-accounts` writes.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccountListing {
    pub format: String,
    /// When the membership was read (RFC 3339).
    pub listed_at: String,
    /// The organization and every member account, whatever its status (policy analysis
    /// tells members from outsiders with it).
    pub organization: Organization,
    /// The organizational unit the accounts were taken from, recursively; none for all.
    pub ou: Option<String>,
    /// The ACTIVE accounts to audit, under `ou` when it is set. `--accounts`,
    /// `--exclude-accounts` and `--shard` apply to them in each run.
    pub accounts: Vec<ListedAccount>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ListedAccount {
    pub id: String,
    pub name: Option<String>,
}

impl AccountListing {
    /// Reads and checks a listing file: broken JSON is named by line, column and byte; an
    /// account that is not a 12-digit id, given twice, or not a member is refused.
    pub fn load(path: &Path) -> Result<AccountListing> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the account listing {}", path.display()))?;
        let listing: AccountListing = serde_json::from_str(&text).map_err(|e| {
            let at = crate::snapshot::JsonErrorAt::of(&text, &e);
            anyhow::anyhow!(
                "{}:{}:{} (byte {}): not an s3audit account listing: {}\n{}",
                path.display(),
                at.line,
                at.column,
                at.byte,
                at.message,
                at.excerpt
            )
        })?;
        listing
            .check()
            .with_context(|| format!("{}: not a usable account listing", path.display()))?;
        Ok(listing)
    }

    fn check(&self) -> Result<()> {
        if self.format != LISTING_FORMAT {
            bail!(
                "format is {:?}, this s3audit reads {LISTING_FORMAT:?}; help: write it again \
                 with `s3audit list-accounts`",
                self.format
            );
        }
        let members: BTreeSet<&str> = self
            .organization
            .account_ids
            .iter()
            .map(String::as_str)
            .collect();
        let mut seen = BTreeSet::new();
        for account in &self.accounts {
            let id = account.id.as_str();
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                bail!("accounts: {id:?} is not a 12-digit AWS account id");
            }
            if !seen.insert(id) {
                bail!("accounts: {id} is listed twice");
            }
            if !members.contains(id) {
                bail!(
                    "accounts: {id} is not among organization.account_ids of {}",
                    self.organization.id
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing() -> AccountListing {
        AccountListing {
            format: LISTING_FORMAT.into(),
            listed_at: "2026-12-06T00:00:00Z".into(),
            organization: Organization {
                id: "o-example".into(),
                management_account_id: "111111111111".into(),
                account_ids: vec!["111111111111".into(), "222222222222".into()],
            },
            ou: None,
            accounts: vec![ListedAccount {
                id: "222222222222".into(),
                name: Some("prod".into()),
            }],
        }
    }

    fn load_text(text: &str) -> Result<AccountListing> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.json");
        std::fs::write(&path, text).unwrap();
        AccountListing::load(&path)
    }

    #[test]
    fn a_written_listing_loads_back() {
        let text = serde_json::to_string_pretty(&listing()).unwrap();
        assert_eq!(load_text(&text).unwrap(), listing());
    }

    #[test]
    fn broken_json_names_line_column_and_byte() {
        let text = serde_json::to_string(&listing()).unwrap();
        let cut = &text[..text.len() - 5];
        let error = format!("{:#}", load_text(cut).unwrap_err());
        assert!(
            error.contains(&format!(
                "accounts.json:1:{} (byte {})",
                cut.len(),
                cut.len() - 1
            )),
            "{error}"
        );
        assert!(error.contains("not an s3audit account listing"), "{error}");
    }

    #[test]
    fn an_unknown_field_is_named() {
        let mut value = serde_json::to_value(listing()).unwrap();
        value["acounts"] = serde_json::json!([]);
        let error = format!("{:#}", load_text(&value.to_string()).unwrap_err());
        assert!(error.contains("unknown field `acounts`"), "{error}");
    }

    #[test]
    fn accounts_that_are_not_members_or_not_ids_are_refused() {
        let cases = [
            ("333333333333", "is not among organization.account_ids"),
            ("22222222222", "is not a 12-digit AWS account id"),
        ];
        for (id, expected) in cases {
            let mut bad = listing();
            bad.accounts[0].id = id.into();
            let error = format!(
                "{:#}",
                load_text(&serde_json::to_string(&bad).unwrap()).unwrap_err()
            );
            assert!(error.contains(expected), "{id}: {error}");
        }
        let mut twice = listing();
        twice.accounts.push(twice.accounts[0].clone());
        let error = format!(
            "{:#}",
            load_text(&serde_json::to_string(&twice).unwrap()).unwrap_err()
        );
        assert!(error.contains("222222222222 is listed twice"), "{error}");
        let mut future = listing();
        future.format = "s3audit-account-listing/2".into();
        let error = format!(
            "{:#}",
            load_text(&serde_json::to_string(&future).unwrap()).unwrap_err()
        );
        assert!(error.contains("this s3audit reads"), "{error}");
    }
}
