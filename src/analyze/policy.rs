//! A resource policy, normalised: `Principal`, `Action`, `Resource` and condition values may
//! each be a string, a list or (for principals) a map in the JSON; here they are always lists.
//!
//! This is the first, organization-unaware analyzer: a statement that allows a public principal
//! is public unless a condition pins the caller or the network to fixed values.

use std::collections::BTreeMap;

use crate::vocabulary::wildcard_match_exact_case;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// `"*"`: everyone, signed or not.
    Everyone,
    /// `{"AWS": [...], "Service": [...], ...}`.
    ByType(BTreeMap<String, Vec<String>>),
}

impl Principals {
    /// True when the principal includes anonymous or any-account callers.
    pub fn is_public(&self) -> bool {
        match self {
            Principals::Everyone => true,
            Principals::ByType(map) => map
                .get("AWS")
                .is_some_and(|ids| ids.iter().any(|id| id == "*")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator as written, e.g. `StringEqualsIfExists`, `ForAnyValue:StringLike`.
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The `Sid`, or `#<index>` when the statement has none.
    pub label: String,
    pub effect: Effect,
    pub principal: Option<Principals>,
    pub not_principal: Option<Principals>,
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub resources: Vec<String>,
    pub not_resources: Vec<String>,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

/// Parses a policy document. AWS only stores valid policies, so an error here means the
/// snapshot was edited or damaged; the caller reports it instead of guessing.
pub fn parse(text: &str) -> Result<Policy, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
        Some(item @ Value::Object(_)) => vec![item],
        Some(_) => return Err("`Statement` is neither an object nor a list".into()),
        None => return Err("no `Statement`".into()),
    };
    let statements = statements
        .into_iter()
        .enumerate()
        .map(|(i, s)| parse_statement(i, s))
        .collect::<Result<_, _>>()?;
    Ok(Policy { statements })
}

fn parse_statement(index: usize, value: &Value) -> Result<Statement, String> {
    let label = match value.get("Sid").and_then(Value::as_str) {
        Some(sid) if !sid.is_empty() => sid.to_string(),
        _ => format!("#{index}"),
    };
    let effect = match value.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        other => return Err(format!("statement {label}: bad `Effect` {other:?}")),
    };
    let strings = |field: &str| -> Result<Vec<String>, String> {
        value
            .get(field)
            .map(|v| string_list(v).map_err(|e| format!("statement {label}: `{field}` {e}")))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let principals = |field: &str| -> Result<Option<Principals>, String> {
        value
            .get(field)
            .map(|v| parse_principals(v).map_err(|e| format!("statement {label}: `{field}` {e}")))
            .transpose()
    };
    let mut conditions = Vec::new();
    if let Some(block) = value.get("Condition") {
        let Value::Object(operators) = block else {
            return Err(format!("statement {label}: `Condition` is not an object"));
        };
        for (operator, keys) in operators {
            let Value::Object(keys) = keys else {
                return Err(format!(
                    "statement {label}: condition {operator} is not an object"
                ));
            };
            for (key, values) in keys {
                conditions.push(Condition {
                    operator: operator.clone(),
                    key: key.clone(),
                    values: string_list(values)
                        .map_err(|e| format!("statement {label}: condition {key} {e}"))?,
                });
            }
        }
    }
    Ok(Statement {
        effect,
        principal: principals("Principal")?,
        not_principal: principals("NotPrincipal")?,
        actions: strings("Action")?,
        not_actions: strings("NotAction")?,
        resources: strings("Resource")?,
        not_resources: strings("NotResource")?,
        conditions,
        label,
    })
}

/// A string, a list of strings, or (in conditions) a bool or number, as a list of strings.
fn string_list(value: &Value) -> Result<Vec<String>, String> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("has an unexpected value {other}")),
    };
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => Ok(vec![scalar(other)?]),
    }
}

fn parse_principals(value: &Value) -> Result<Principals, String> {
    match value {
        Value::String(s) if s == "*" => Ok(Principals::Everyone),
        Value::Object(map) => map
            .iter()
            .map(|(kind, ids)| Ok((kind.clone(), string_list(ids)?)))
            .collect::<Result<_, String>>()
            .map(Principals::ByType),
        other => Err(format!("is neither \"*\" nor a map: {other}")),
    }
}

/// Case-insensitive IAM wildcard match (`*` any run of characters, `?` one character).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    wildcard_match_exact_case(&pattern.to_ascii_lowercase(), &text.to_ascii_lowercase())
}

/// Condition keys whose fixed values pin who may call or from where, so that a `"*"`
/// principal under them is not the whole internet.
const RESTRICTING_KEYS: &[&str] = &[
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:userid",
    "aws:username",
    "aws:sourcevpce",
    "aws:sourcevpc",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:sourceip",
    "aws:vpcsourceip",
    "aws:sourceowner",
    // Access is delegated to access points of one account, whose own policies decide.
    "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn",
];

impl Condition {
    /// Whether this condition limits the statement to fixed principals or networks. A
    /// condition that matches when its key is missing (`...IfExists`, `ForAllValues:`), a
    /// negated operator, or a wildcard value limits nothing.
    pub fn restricts_caller(&self) -> bool {
        let key = self.key.to_ascii_lowercase();
        if !RESTRICTING_KEYS.contains(&key.as_str()) {
            return false;
        }
        let operator = self.operator.as_str();
        let operator = operator.strip_prefix("ForAnyValue:").unwrap_or(operator);
        if operator.starts_with("ForAllValues:") || operator.ends_with("IfExists") {
            return false;
        }
        let positive = matches!(
            operator,
            "StringEquals"
                | "StringEqualsIgnoreCase"
                | "StringLike"
                | "ArnEquals"
                | "ArnLike"
                | "IpAddress"
        );
        positive
            && !self.values.is_empty()
            && self
                .values
                .iter()
                .all(|v| !v.contains('*') && !v.contains("${") && v != "0.0.0.0/0" && v != "::/0")
    }

    pub fn is_network_only(&self) -> bool {
        matches!(
            self.key.to_ascii_lowercase().as_str(),
            "aws:sourceip" | "aws:vpcsourceip"
        )
    }
}

/// Actions that read data or list a bucket; one allowed publicly makes the bucket public-read.
pub const READ_ACTIONS: &[&str] = &["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"];
/// Actions that write, delete or change permissions; one allowed publicly is public write.
pub const WRITE_ACTIONS: &[&str] = &[
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectAcl",
    "s3:PutBucketAcl",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:DeleteBucket",
];

impl Statement {
    /// Whether the statement's action set covers `action`.
    pub fn covers_action(&self, action: &str) -> bool {
        if !self.not_actions.is_empty() {
            return !self.not_actions.iter().any(|p| wildcard_match(p, action));
        }
        self.actions.iter().any(|p| wildcard_match(p, action))
    }

    pub fn covers_resource(&self, resource: &str) -> bool {
        if !self.not_resources.is_empty() {
            return !self
                .not_resources
                .iter()
                .any(|p| wildcard_match(p, resource));
        }
        self.resources.iter().any(|p| wildcard_match(p, resource))
    }

    /// True when the statement applies to anonymous or any-account callers: `"*"`, `AWS: "*"`,
    /// or `NotPrincipal` (everyone but the listed principals).
    pub fn has_public_principal(&self) -> bool {
        self.not_principal.is_some() || self.principal.as_ref().is_some_and(Principals::is_public)
    }

    /// The account ids named by the `AWS` principals: 12-digit ids and the account field of
    /// IAM and STS ARNs (`arn:aws:iam::123456789012:root`, `...:role/x`).
    pub fn principal_accounts(&self) -> Vec<String> {
        let Some(Principals::ByType(map)) = &self.principal else {
            return Vec::new();
        };
        let mut accounts: Vec<String> = map
            .get("AWS")
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let account = if p.starts_with("arn:") {
                    p.split(':').nth(4)?
                } else {
                    p.as_str()
                };
                (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| account.to_string())
            })
            .collect();
        accounts.sort();
        accounts.dedup();
        accounts
    }

    /// The condition keys that keep a public principal from being the public.
    pub fn restricting_keys(&self) -> Vec<String> {
        self.conditions
            .iter()
            .filter(|c| c.restricts_caller())
            .map(|c| c.key.clone())
            .collect()
    }
}
