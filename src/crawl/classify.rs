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
#[derive(Debug, Clone)]
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
            Failure::Denied(f) => Section::denied(f),
            Failure::Error(f) => Section::error(f),
        }
    }

    pub fn read_failure(&self) -> Option<&ReadFailure> {
        match self {
            Failure::Absent(_) => None,
            Failure::Denied(f) | Failure::Error(f) => Some(f),
        }
    }
}

/// Error codes AWS gives when it throttles.
const THROTTLING_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// Classifies an SDK error of `operation` (`GetBucketPolicy`). `absent_codes` are the codes
/// that mean "not configured" for this operation (e.g. `NoSuchBucketPolicy`). The failure
/// keeps the AWS code and HTTP status, and its message is one sentence a person can act on.
pub fn classify<E>(
    operation: &str,
    error: &SdkError<E, HttpResponse>,
    absent_codes: &[&str],
) -> Failure
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
    // JSON services answer AccessDenied with HTTP 403 and sometimes no code at all.
    let denied = code.as_deref().is_some_and(|c| DENIED_CODES.contains(&c))
        || (status == Some(403) && code.is_none());
    let failure = ReadFailure {
        message: describe(operation, error, code.as_deref(), status, denied),
        code,
        operation: Some(operation.to_string()),
        http_status: status,
    };
    if denied {
        Failure::Denied(failure)
    } else {
        Failure::Error(failure)
    }
}

/// The readable sentence for an error of `operation` (for errors the CLI prints itself).
pub fn explain<E>(operation: &str, error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match classify(operation, error, &[]) {
        Failure::Denied(f) | Failure::Error(f) => f.message,
        Failure::Absent(_) => unreachable!("no code means absent here"),
    }
}

/// What went wrong, from the parts of the error (never its debug form), and what to do.
fn describe<E>(
    operation: &str,
    error: &SdkError<E, HttpResponse>,
    code: Option<&str>,
    status: Option<u16>,
    denied: bool,
) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let answer = match (code, status) {
        (Some(code), Some(status)) => format!("{code}, HTTP {status}"),
        (Some(code), None) => code.to_string(),
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) => String::new(),
    };
    let aws_says = error
        .message()
        .filter(|m| !m.is_empty())
        .map(|m| format!(": \"{}\"", m.trim_end_matches('.')))
        .unwrap_or_default();
    if denied {
        let actions = super::recorder::iam_actions_of(operation);
        let grant = if operation == "AssumeRole" {
            "check that the role exists in the account, that its trust policy lets the caller \
             assume it, and that --role-name and --external-id match it"
                .to_string()
        } else if actions.is_empty() {
            "check the permissions of the role s3audit uses".to_string()
        } else {
            format!(
                "grant {} to the role s3audit uses (docs/iam-policy.json lists every action it \
                 needs), or check for an SCP, permission boundary or resource policy that \
                 denies it",
                actions.join(" or ")
            )
        };
        return format!("{operation} was denied ({answer}){aws_says}; {grant}.");
    }
    match error {
        SdkError::TimeoutError(_) => format!(
            "{operation} got no answer within the call timeout; raise --call-timeout, or lower \
             --max-requests if AWS is slow under the load."
        ),
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                "timed out"
            } else if failure.is_io() {
                "lost its connection"
            } else {
                "could not be sent"
            };
            let cause = std::error::Error::source(error)
                .and_then(std::error::Error::source)
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            let advice = if failure.is_timeout() || failure.is_io() {
                "after every retry; check the network path to AWS (proxy, VPC endpoint, DNS) \
                 and run the audit again"
            } else {
                "(the request was never sent: s3audit could not build it); report it with the \
                 s3audit version"
            };
            format!("{operation} {kind}{cause} {advice}.")
        }
        _ if code.is_some_and(|c| THROTTLING_CODES.contains(&c)) => format!(
            "{operation} was throttled by AWS ({answer}) after every retry; lower \
             --max-requests or --max-buckets, or raise --max-attempts."
        ),
        _ if status.is_some_and(|s| s >= 500) => format!(
            "{operation} failed on AWS's side ({answer}){aws_says} after every retry; run the \
             audit again, or raise --max-attempts."
        ),
        _ if status.is_some() => {
            format!("{operation} was refused ({answer}){aws_says}.")
        }
        _ => format!(
            "{operation} failed before AWS answered ({}); run the audit again.",
            DisplayErrorContext(error)
        ),
    }
}

/// A call's result as a section: the converted value, or the classified failure.
pub fn section<O, E, T>(
    operation: &str,
    result: Result<O, SdkError<E, HttpResponse>>,
    absent_codes: &[&str],
    convert: impl FnOnce(O) -> T,
) -> Section<T>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(output) => Section::present(convert(output)),
        Err(error) => classify(operation, &error, absent_codes).into_section(),
    }
}

/// A call the read plan may have left out: `None` is a section no enabled rule needed
/// (`NotRequested`), anything else as [`section`].
pub fn planned<O, E, T>(
    operation: &str,
    read: Option<Result<O, SdkError<E, HttpResponse>>>,
    absent_codes: &[&str],
    convert: impl FnOnce(O) -> T,
) -> Section<T>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match read {
        Some(result) => section(operation, result, absent_codes, convert),
        None => Section::not_requested(),
    }
}

/// A section whose value AWS should always return: a response without it (`None`) is an
/// error that names what was missing, never a default such as "not public".
pub fn required<T>(section: Section<Option<T>>, what: &str) -> Section<T> {
    match section {
        Section::Present { value: Some(value) } => Section::present(value),
        Section::Present { value: None } => Section::error(ReadFailure {
            code: None,
            message: format!("the response had no {what}"),
            ..ReadFailure::default()
        }),
        Section::Absent { code } => Section::Absent { code },
        Section::Denied(f) => Section::Denied(f),
        Section::Error(f) => Section::Error(f),
    }
}
