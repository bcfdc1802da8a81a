//! The hard cases of bucket policy and ACL analysis, table-driven: each case is a bucket (and
//! its account) with the verdicts the rules must give. These are where other tools cry wolf
//! or miss exposure.

use std::collections::BTreeMap;

use s3audit::config::Config;
use s3audit::rules::{RuleSet, evaluate};
use s3audit::snapshot::{
    Account, Acl, Bucket, Grant, Organization, PublicAccessBlock, Section, Snapshot,
};

const OWN: &str = "111111111111";
const MEMBER: &str = "222222222222";
const BUCKET: &str = "case-bucket";

struct Case {
    name: &'static str,
    policy: Option<&'static str>,
    acl_public: Option<&'static str>,
    account_block_all: bool,
    expect: &'static [(&'static str, &'static str)],
}

const CASES: &[Case] = &[
    Case {
        name: "`*` restricted by aws:PrincipalOrgID of the organization",
        policy: Some(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::case-bucket/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-case"}}}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-policy-public", "pass"),
            ("bucket-public-read", "pass"),
            ("bucket-policy-grants-external-access", "pass"),
        ],
    },
    Case {
        name: "`*` restricted by aws:SourceVpce",
        policy: Some(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::case-bucket/*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-0abc"}}}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-policy-public", "pass"),
            ("bucket-public-read", "pass"),
            ("bucket-public-write", "pass"),
        ],
    },
    Case {
        name: "service principal restricted by aws:SourceAccount",
        policy: Some(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::case-bucket/logs/*","Condition":{"StringEquals":{"aws:SourceAccount":"111111111111"}}}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-policy-public", "pass"),
            ("bucket-public-write", "pass"),
            ("bucket-policy-grants-external-access", "pass"),
            ("bucket-policy-cross-account-sensitive-actions", "pass"),
        ],
    },
    Case {
        name: "TLS enforced only through s3:TlsVersion",
        policy: Some(
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::case-bucket","arn:aws:s3:::case-bucket/*"],"Condition":{"NumericLessThan":{"s3:TlsVersion":"1.2"}}}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            // Plain HTTP carries no TLS version: this Deny does not refuse it.
            ("bucket-tls-not-enforced", "fail"),
            ("bucket-tls-minimum-version-not-enforced", "pass"),
            // CIS v5 2.1.1 accepts this form.
            ("bucket-https-not-required-cis", "pass"),
        ],
    },
    Case {
        name: "aws:SecureTransport deny covering only bucket/*",
        policy: Some(
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::case-bucket/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-tls-not-enforced", "fail"),
            ("bucket-https-not-required-cis", "fail"),
        ],
    },
    Case {
        name: "aws:SecureTransport deny covering the bucket and its objects",
        policy: Some(
            r#"{"Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:*","Resource":["arn:aws:s3:::case-bucket","arn:aws:s3:::case-bucket/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-tls-not-enforced", "pass"),
            ("bucket-https-not-required-cis", "pass"),
            ("bucket-policy-public", "pass"),
        ],
    },
    Case {
        name: "cross-account grant to a member of the organization",
        policy: Some(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::case-bucket/*"}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-policy-grants-external-access", "pass"),
            ("bucket-policy-public", "pass"),
        ],
    },
    Case {
        name: "cross-account grant to an account outside the organization",
        policy: Some(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:role/vendor"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::case-bucket/*"}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-policy-grants-external-access", "fail"),
            ("bucket-policy-public", "pass"),
        ],
    },
    Case {
        name: "Deny with Principal `*` is not a grant",
        policy: Some(
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::case-bucket/*"}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-policy-public", "pass"),
            ("bucket-public-write", "pass"),
        ],
    },
    Case {
        name: "Allow with NotPrincipal is everyone but the listed",
        policy: Some(
            r#"{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:role/x"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::case-bucket/*"}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-policy-public", "fail"),
            ("bucket-public-read", "fail"),
        ],
    },
    Case {
        name: "Action as a string",
        policy: Some(
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::case-bucket/*"}}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-public-read", "fail"),
            ("bucket-public-write", "pass"),
        ],
    },
    Case {
        name: "Action as a list",
        policy: Some(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:ListBucket","s3:GetObject"],"Resource":["arn:aws:s3:::case-bucket","arn:aws:s3:::case-bucket/*"]}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-public-read", "fail"),
            ("bucket-public-write", "pass"),
        ],
    },
    Case {
        name: "s3:* to `*` is public write",
        policy: Some(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-public-write", "fail"),
            ("bucket-public-read", "fail"),
            ("bucket-policy-cross-account-sensitive-actions", "fail"),
        ],
    },
    Case {
        name: "the only public ACL grant is WRITE_ACP",
        policy: None,
        acl_public: Some("WRITE_ACP"),
        account_block_all: false,
        expect: &[
            ("bucket-public-write", "fail"),
            ("bucket-public-read", "pass"),
            ("bucket-acl-public-grant", "fail"),
        ],
    },
    Case {
        name: "public bucket policy in an account whose Block Public Access is fully on",
        policy: Some(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::case-bucket/*"}]}"#,
        ),
        acl_public: None,
        account_block_all: true,
        expect: &[
            // The policy is public as written, but RestrictPublicBuckets makes it inert.
            ("bucket-policy-public", "fail"),
            ("bucket-public-read", "pass"),
            ("account-public-access-block-disabled", "pass"),
        ],
    },
    Case {
        name: "TLS-version deny on one action under one prefix enforces nothing",
        policy: Some(
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::case-bucket/tmp/*","Condition":{"NumericLessThan":{"s3:TlsVersion":"1.2"}}}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-tls-minimum-version-not-enforced", "fail"),
            ("bucket-https-not-required-cis", "fail"),
        ],
    },
    Case {
        name: "`*` restricted by a wildcard aws:PrincipalOrgID is still public",
        policy: Some(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::case-bucket/*","Condition":{"StringLike":{"aws:PrincipalOrgID":"o-*"}}}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-policy-public", "fail"),
            ("bucket-public-read", "fail"),
        ],
    },
    Case {
        name: "`*` restricted to networks by aws:SourceIp",
        policy: Some(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::case-bucket/*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[
            ("bucket-policy-public", "pass"),
            ("bucket-public-read", "pass"),
        ],
    },
    Case {
        name: "SSE-C uploads denied to everyone on every object",
        policy: Some(
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::case-bucket/*","Condition":{"Null":{"s3:x-amz-server-side-encryption-customer-algorithm":"false"}}}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[("bucket-sse-c-uploads-allowed", "pass")],
    },
    Case {
        name: "SSE-C deny that exempts a principal does not block SSE-C",
        policy: Some(
            r#"{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:role/x"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::case-bucket/*","Condition":{"Null":{"s3:x-amz-server-side-encryption-customer-algorithm":"false"}}}]}"#,
        ),
        acl_public: None,
        account_block_all: false,
        expect: &[("bucket-sse-c-uploads-allowed", "fail")],
    },
];

fn snapshot_for(case: &Case) -> Snapshot {
    let mut bucket = Bucket::all_absent(BUCKET, "eu-west-1");
    if let Some(policy) = case.policy {
        bucket.policy = Section::present(policy.to_string());
    }
    let mut grants = vec![Grant {
        grantee_type: "CanonicalUser".into(),
        grantee_id: Some("owner".into()),
        grantee_uri: None,
        grantee_email: None,
        permission: "FULL_CONTROL".into(),
    }];
    if let Some(permission) = case.acl_public {
        grants.push(Grant {
            grantee_type: "Group".into(),
            grantee_id: None,
            grantee_uri: Some("http://acs.amazonaws.com/groups/global/AllUsers".into()),
            grantee_email: None,
            permission: permission.into(),
        });
    }
    bucket.acl = Section::present(Acl {
        owner_id: Some("owner".into()),
        grants,
    });
    // Bucket-level Block Public Access off: the account level (or nothing) decides.
    bucket.public_access_block = Section::present(PublicAccessBlock::default());
    let mut account = Account::all_absent(OWN);
    account.public_access_block = Section::present(PublicAccessBlock {
        block_public_acls: case.account_block_all,
        ignore_public_acls: case.account_block_all,
        block_public_policy: case.account_block_all,
        restrict_public_buckets: case.account_block_all,
    });
    account.buckets = Section::present(vec![bucket]);
    let organization = Organization {
        id: "o-case".into(),
        management_account_id: OWN.into(),
        account_ids: vec![OWN.into(), MEMBER.into()],
    };
    Snapshot::new(
        "2026-01-01T00:00:00Z",
        "aws",
        Some(organization),
        vec![account],
    )
}

/// Verdict of every rule on the case's bucket (and account), as `pass`/`fail`/...
fn verdicts(snapshot: &Snapshot, rules: &RuleSet) -> BTreeMap<String, String> {
    evaluate(snapshot, rules, &Config::default().selectors())
        .iter()
        .map(|e| {
            (
                rules.rules[e.rule].id.clone(),
                e.outcome.kind().as_str().to_string(),
            )
        })
        .collect()
}

#[test]
fn hard_policy_cases_get_the_right_verdicts() {
    let rules = RuleSet::load(None).expect("embedded rules");
    let mut failures = Vec::new();
    for case in CASES {
        let verdicts = verdicts(&snapshot_for(case), &rules);
        for (rule, expected) in case.expect {
            let actual = verdicts
                .get(*rule)
                .unwrap_or_else(|| panic!("rule {rule} did not run"));
            if actual != expected {
                failures.push(format!(
                    "{}: {rule} expected {expected}, got {actual}",
                    case.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
