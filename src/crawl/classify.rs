//! Classifying SDK results into snapshot sections, once, for every call site: the AWS error
//! code and HTTP status decide between `absent` (AWS says "not configured"), `denied` and
//! `error`. An unreadable section is never reported as `absent`.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::snapshot::{ReadFailure, Section};

/// Error codes that mean "denied" whatever the HTTP status.
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AllAccessDisabled",
    "UnauthorizedOperation",
    "AuthorizationError",
];

/// How a failed call is recorded.
pub enum Failure {
    /// AWS said the configuration does not exist.
    Absent(Option<String>),
    Denied(ReadFailure),
    Error(ReadFailure),
}

impl Failure {
    pub fn into_section<T>(self) -> Section<T> {
        match self {
            Failure::Absent(code) => Section::Absent { code },
            Failure::Denied(f) => Section::Denied(f),
            Failure::Error(f) => Section::Error(f),
        }
    }

    pub fn read_failure(&self) -> Option<&ReadFailure> {
        match self {
            Failure::Absent(_) => None,
            Failure::Denied(f) | Failure::Error(f) => Some(f),
        }
    }
}

/// Classifies an SDK error. `absent_codes` are the codes that mean "not configured" for this
/// operation (e.g. `NoSuchBucketPolicy`).
pub fn classify<E>(error: &SdkError<E, HttpResponse>, absent_codes: &[&str]) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = error.code().map(str::to_string);
    let status = error.raw_response().map(|r| r.status().as_u16());
    if let Some(c) = code.as_deref()
        && absent_codes.contains(&c)
    {
        return Failure::Absent(code);
    }
    let message = error
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| DisplayErrorContext(error).to_string());
    let failure = ReadFailure {
        code: code.clone(),
        message: match status {
            Some(status) if code.is_none() => format!("HTTP {status}: {message}"),
            _ => message,
        },
        ..ReadFailure::default()
    };
    // JSON services answer AccessDenied with HTTP 403 and sometimes no code at all.
    let denied = code.as_deref().is_some_and(|c| DENIED_CODES.contains(&c))
        || (status == Some(403) && code.is_none());
    if denied {
        Failure::Denied(failure)
    } else {
        Failure::Error(failure)
    }
}

/// A call's result as a section: the converted value, or the classified failure.
pub fn section<O, E, T>(
    result: Result<O, SdkError<E, HttpResponse>>,
    absent_codes: &[&str],
    convert: impl FnOnce(O) -> T,
) -> Section<T>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(output) => Section::present(convert(output)),
        Err(error) => classify(&error, absent_codes).into_section(),
    }
}

/// A section whose value AWS should always return: a response without it (`None`) is an
/// error that names what was missing, never a default such as "not public".
pub fn required<T>(section: Section<Option<T>>, what: &str) -> Section<T> {
    match section {
        Section::Present { value: Some(value) } => Section::present(value),
        Section::Present { value: None } => Section::Error(ReadFailure {
            code: None,
            message: format!("the response had no {what}"),
            ..ReadFailure::default()
        }),
        Section::Absent { code } => Section::Absent { code },
        Section::Denied(f) => Section::Denied(f),
        Section::Error(f) => Section::Error(f),
    }
}
