//! The CloudTrail management events `watch` acts on, as EventBridge delivers them to SQS
//! (`detail-type: AWS API Call via CloudTrail`, `source: aws.s3`): which resource changed.
//! A message that is not such an event, or names a call s3audit does not know, is refused
//! with the reason; it stays in the queue for the dead-letter queue.

use serde::Deserialize;

/// The S3 calls that change a bucket's configuration (CloudTrail event names), read again in
/// full when one is seen.
pub const BUCKET_EVENTS: &[&str] = &[
    "CreateBucket",
    "DeleteBucket",
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketAcl",
    "PutBucketPublicAccessBlock",
    "DeleteBucketPublicAccessBlock",
    "PutBucketOwnershipControls",
    "DeleteBucketOwnershipControls",
    "PutBucketEncryption",
    "DeleteBucketEncryption",
    "PutBucketVersioning",
    "PutBucketLogging",
    "PutBucketLifecycle",
    "PutBucketLifecycleConfiguration",
    "DeleteBucketLifecycle",
    "PutBucketReplication",
    "DeleteBucketReplication",
    "PutObjectLockConfiguration",
    "PutBucketNotification",
    "PutBucketNotificationConfiguration",
    "PutBucketTagging",
    "DeleteBucketTagging",
    "PutBucketWebsite",
    "DeleteBucketWebsite",
    "PutBucketCors",
    "DeleteBucketCors",
    "PutAccelerateConfiguration",
    "PutBucketAccelerateConfiguration",
    "PutBucketIntelligentTieringConfiguration",
    "DeleteBucketIntelligentTieringConfiguration",
    "PutBucketInventoryConfiguration",
    "DeleteBucketInventoryConfiguration",
    "PutBucketMetricsConfiguration",
    "DeleteBucketMetricsConfiguration",
    "PutBucketAnalyticsConfiguration",
    "DeleteBucketAnalyticsConfiguration",
    "PutBucketRequestPayment",
];

/// The account-level calls: Block Public Access of the whole account.
pub const ACCOUNT_EVENTS: &[&str] = &[
    "PutAccountPublicAccessBlock",
    "DeleteAccountPublicAccessBlock",
];

/// What an event asks `watch` to read again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// The bucket's configuration (or its existence).
    Bucket { account: String, bucket: String },
    /// The account's Block Public Access settings.
    AccountPublicAccessBlock { account: String },
}

/// One parsed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub name: String,
    pub time: Option<String>,
    /// `None`: the call failed (`errorCode`), so nothing changed.
    pub change: Option<Change>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: Detail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    event_source: String,
    event_name: String,
    #[serde(default)]
    event_time: Option<String>,
    /// The account that owns the resource (the caller may be another account).
    recipient_account_id: String,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    request_parameters: Option<serde_json::Value>,
}

/// Parses a message body; the error says why it is not an event `watch` can act on.
pub fn parse(body: &str) -> Result<Event, String> {
    let envelope: Envelope = serde_json::from_str(body)
        .map_err(|e| format!("not an EventBridge CloudTrail event: {e}"))?;
    if envelope.detail_type != "AWS API Call via CloudTrail" {
        return Err(format!(
            "detail-type `{}`, not `AWS API Call via CloudTrail`",
            envelope.detail_type
        ));
    }
    let detail = envelope.detail;
    if detail.event_source != "s3.amazonaws.com" {
        return Err(format!("event source `{}`, not S3", detail.event_source));
    }
    let account = detail.recipient_account_id.clone();
    let name = detail.event_name.clone();
    let change = if ACCOUNT_EVENTS.contains(&name.as_str()) {
        Change::AccountPublicAccessBlock { account }
    } else if BUCKET_EVENTS.contains(&name.as_str()) {
        let bucket = detail
            .request_parameters
            .as_ref()
            .and_then(|p| p.get("bucketName"))
            .and_then(serde_json::Value::as_str)
            .filter(|b| !b.is_empty())
            .ok_or_else(|| format!("{name} event without requestParameters.bucketName"))?;
        Change::Bucket {
            account,
            bucket: bucket.to_string(),
        }
    } else {
        return Err(format!(
            "{name} is not an S3 configuration change s3audit knows"
        ));
    };
    Ok(Event {
        name,
        time: detail.event_time,
        // A call that failed changed nothing.
        change: detail.error_code.is_none().then_some(change),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, extra: &str) -> String {
        format!(
            r#"{{"version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
               "account": "111111111111", "region": "eu-west-1",
               "detail": {{"eventSource": "s3.amazonaws.com", "eventName": "{name}",
                 "eventTime": "2026-12-05T10:00:00Z", "awsRegion": "eu-west-1",
                 "recipientAccountId": "222222222222",
                 "requestParameters": {{"bucketName": "data", "policy": ""}}{extra}}}}}"#
        )
    }

    #[test]
    fn a_bucket_change_names_the_owning_account_and_the_bucket() {
        let parsed = parse(&event("PutBucketPolicy", "")).unwrap();
        assert_eq!(
            parsed.change,
            Some(Change::Bucket {
                account: "222222222222".into(),
                bucket: "data".into()
            })
        );
        assert_eq!(parsed.time.as_deref(), Some("2026-12-05T10:00:00Z"));
        let account = parse(&event("PutAccountPublicAccessBlock", "")).unwrap();
        assert_eq!(
            account.change,
            Some(Change::AccountPublicAccessBlock {
                account: "222222222222".into()
            })
        );
    }

    #[test]
    fn a_failed_call_changes_nothing() {
        let parsed = parse(&event("PutBucketAcl", r#", "errorCode": "AccessDenied""#)).unwrap();
        assert_eq!(parsed.change, None);
    }

    #[test]
    fn anything_else_is_refused_with_why() {
        assert!(
            parse("not json")
                .unwrap_err()
                .contains("not an EventBridge")
        );
        assert!(
            parse(&event("GetObject", ""))
                .unwrap_err()
                .contains("GetObject is not")
        );
        let other = event("PutBucketPolicy", "").replace("s3.amazonaws.com", "ec2.amazonaws.com");
        assert!(parse(&other).unwrap_err().contains("not S3"));
        let no_bucket = event("PutBucketPolicy", "").replace(r#""bucketName": "data", "#, "");
        assert!(parse(&no_bucket).unwrap_err().contains("bucketName"));
    }
}
