//! Every configuration section is declared once, here and in `model.rs` through the two
//! macros below: its name (the JSON and CEL name), its value type, the AWS operations that
//! read it and, for bucket sections, the S3 subresource of the request. From that one
//! declaration come the snapshot structs, the section lists the rule loader checks
//! `requires` against, the uniform "every section unread" constructors, and the per-section
//! access the engine, the HTML evidence and the crawler's progress use. Tests check that the
//! crawler's recorded operations and the IAM policy cover every declared operation.

use serde::Serialize;

use super::{ReadFailure, Section, SectionState};

/// Which resource a section belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionOwner {
    Bucket,
    Account,
}

/// One section as declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionDeclaration {
    /// The field name: `bucket.<name>` or `account.<name>` in rules.
    pub name: &'static str,
    pub owner: SectionOwner,
    /// The AWS operations that read it, as `<service>:<Operation>` (the SDK's names, as
    /// the crawler records them).
    pub operations: &'static [&'static str],
    /// For bucket sections read with an S3 request on the bucket: the subresource of the
    /// request (`?policy`).
    pub s3_subresource: Option<&'static str>,
}

/// What every section offers whatever its value type.
pub trait AnySection: Sync {
    fn state(&self) -> SectionState;
    fn failure(&self) -> Option<(SectionState, &ReadFailure)>;
    /// The value as CEL sees it: the value when present, `null` otherwise.
    fn to_cel(&self) -> cel::Value;
    /// The section as the snapshot holds it (state and value or failure), for evidence.
    fn to_json(&self) -> serde_json::Value;
}

impl<T: Serialize + Sync> AnySection for Section<T> {
    fn state(&self) -> SectionState {
        Section::state(self)
    }

    fn failure(&self) -> Option<(SectionState, &ReadFailure)> {
        Section::failure(self)
    }

    fn to_cel(&self) -> cel::Value {
        // Our model types only hold strings, integers, bools, lists and string-keyed maps,
        // which always convert.
        self.value().map_or(cel::Value::Null, |v| {
            cel::to_value(v).expect("snapshot types convert to CEL values")
        })
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("snapshot sections serialize")
    }
}

/// `Some(subresource)` for a section read with an S3 request on the bucket, `None` for one
/// read from another service.
macro_rules! subresource {
    () => {
        None
    };
    ($query:literal) => {
        Some($query)
    };
}

/// Declares `Bucket`: its identity fields, then one line per section
/// (`name: Type => ["s3:Operation"], query "subresource";`, attributes and docs above it;
/// a section read from another service than S3 has no `query`).
macro_rules! declare_bucket {
    ($( $(#[$meta:meta])* $name:ident : $ty:ty => [$($op:literal),+ $(,)?] $(, query $query:literal)?; )*) => {
        /// One bucket and every configuration section read for it.
        #[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
        #[serde(deny_unknown_fields)]
        pub struct Bucket {
            pub name: String,
            /// The bucket's region (`ListBuckets` or `GetBucketLocation`, `us-east-1` for the
            /// empty constraint); null when it could not be read, and then every section says
            /// why. An older snapshot's empty string reads as null.
            #[serde(deserialize_with = "unknown_when_empty")]
            #[schemars(with = "Option<String>")]
            pub region: Option<String>,
            #[serde(default)]
            pub creation_date: Option<String>,
            $( $(#[$meta])* pub $name: Section<$ty>, )*
        }

        /// The bucket sections, in snapshot order.
        pub const BUCKET_SECTION_DECLARATIONS: &[$crate::snapshot::SectionDeclaration] = &[
            $( $crate::snapshot::SectionDeclaration {
                name: stringify!($name),
                owner: $crate::snapshot::SectionOwner::Bucket,
                operations: &[$($op),+],
                s3_subresource: $crate::snapshot::sections::subresource!($($query)?),
            }, )*
        ];

        /// The names of the bucket sections, in snapshot order. Rules name them as
        /// `bucket.<name>`.
        pub const BUCKET_SECTIONS: &[&str] = &[ $( stringify!($name), )* ];

        impl Bucket {
            /// Every section by name, in snapshot order.
            pub fn sections(&self) -> Vec<(&'static str, &dyn $crate::snapshot::AnySection)> {
                vec![ $( (stringify!($name), &self.$name), )* ]
            }

            /// Marks section `name` as not requested by the crawl; false when the bucket
            /// has no such section.
            pub fn set_not_requested(&mut self, name: &str) -> bool {
                match name {
                    $( stringify!($name) => self.$name = Section::not_requested(), )*
                    _ => return false,
                }
                true
            }

            /// A bucket whose every section is in the same unread state: `absent`, or
            /// `denied` / `error` with one reason (a bucket whose region could not be found).
            /// A `present` template has no value to give and is taken as `absent`.
            pub fn every_section(name: &str, region: Option<&str>, state: &Section<()>) -> Self {
                Bucket {
                    name: name.to_string(),
                    region: region.map(str::to_string),
                    creation_date: None,
                    $( $name: state.clone().map_unreadable(), )*
                }
            }
        }
    };
}

/// Declares `Account`: its identity, then one line per section
/// (`name: Type => ["service:Operation", ...];`), then the bucket list.
macro_rules! declare_account {
    ($( $(#[$meta:meta])* $name:ident : $ty:ty => [$($op:literal),+ $(,)?]; )*) => {
        /// One AWS account and everything read in it.
        #[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
        #[serde(deny_unknown_fields)]
        pub struct Account {
            /// The 12-digit account id.
            pub id: String,
            #[serde(default)]
            pub name: Option<String>,
            /// How the crawler got in, or why it could not.
            pub access: AccountAccess,
            $( $(#[$meta])* pub $name: Section<$ty>, )*
            /// `ListBuckets`: the buckets the account owns.
            pub buckets: Section<Vec<Bucket>>,
        }

        /// The account sections rules can read, in snapshot order. The bucket list is not
        /// one of them: bucket rules see one bucket at a time.
        pub const ACCOUNT_SECTION_DECLARATIONS: &[$crate::snapshot::SectionDeclaration] = &[
            $( $crate::snapshot::SectionDeclaration {
                name: stringify!($name),
                owner: $crate::snapshot::SectionOwner::Account,
                operations: &[$($op),+],
                s3_subresource: None,
            }, )*
        ];

        /// The names of the account sections rules can read, as `account.<name>`.
        pub const ACCOUNT_SECTIONS: &[&str] = &[ $( stringify!($name), )* ];

        impl Account {
            /// Every section rules can read, by name, in snapshot order.
            pub fn sections(&self) -> Vec<(&'static str, &dyn $crate::snapshot::AnySection)> {
                vec![ $( (stringify!($name), &self.$name), )* ]
            }

            /// Marks section `name` as not requested by the crawl; false when the account
            /// has no such section (the bucket list is always read).
            pub fn set_not_requested(&mut self, name: &str) -> bool {
                match name {
                    $( stringify!($name) => self.$name = Section::not_requested(), )*
                    _ => return false,
                }
                true
            }

            /// An account whose every section, the bucket list included, is in the same
            /// state: `absent`, or `denied` / `error` with one reason (an account that could
            /// not be entered).
            pub fn every_section(
                id: &str,
                name: Option<String>,
                access: AccountAccess,
                state: &Section<()>,
            ) -> Self {
                Account {
                    id: id.to_string(),
                    name,
                    access,
                    $( $name: state.clone().map_unreadable(), )*
                    buckets: state.clone().map_unreadable(),
                }
            }
        }
    };
}

pub(crate) use {declare_account, declare_bucket, subresource};

#[cfg(test)]
mod tests {
    use super::super::{
        ACCOUNT_SECTION_DECLARATIONS, ACCOUNT_SECTIONS, Account, BUCKET_SECTION_DECLARATIONS,
        BUCKET_SECTIONS, Bucket,
    };

    #[test]
    fn every_declared_section_is_in_the_json_and_the_lists() {
        let bucket = serde_json::to_value(Bucket::all_absent("b", "us-east-1")).unwrap();
        let fields: Vec<&str> = bucket
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| !["name", "region", "creation_date"].contains(k))
            .collect();
        let mut declared: Vec<&str> = BUCKET_SECTION_DECLARATIONS.iter().map(|d| d.name).collect();
        assert_eq!(BUCKET_SECTIONS, declared.as_slice());
        declared.sort_unstable();
        let mut fields = fields;
        fields.sort_unstable();
        assert_eq!(fields, declared);

        let account = serde_json::to_value(Account::all_absent("111111111111")).unwrap();
        let mut fields: Vec<&str> = account
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| !["id", "name", "access", "buckets"].contains(k))
            .collect();
        fields.sort_unstable();
        let mut declared: Vec<&str> = ACCOUNT_SECTION_DECLARATIONS
            .iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(ACCOUNT_SECTIONS, declared.as_slice());
        declared.sort_unstable();
        assert_eq!(fields, declared);
    }
}
