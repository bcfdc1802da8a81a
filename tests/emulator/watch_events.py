"""The AWS side of `s3audit watch` in the emulator: the queue EventBridge would deliver
CloudTrail events to (with a dead-letter queue), an SNS topic with a queue subscribed to
read what watch publishes, changes to scenario buckets, and the events CloudTrail and
EventBridge would send for them (the emulator has no CloudTrail-to-EventBridge delivery,
so the event is built here as AWS builds it).

    python watch_events.py --endpoint URL setup
        -> {"queue_url", "dead_letter_queue_url", "topic_arn", "notification_queue_url"}
    python watch_events.py --endpoint URL --scenario S change --bucket B --action ACTION
        ACTION: suspend-versioning | enable-versioning; -> the event (JSON)
    python watch_events.py --endpoint URL send --queue-url Q [--count N]   (body on stdin)
        -> {"sent_at": epoch seconds}
    python watch_events.py --endpoint URL receive --queue-url Q [--wait S]
        -> [bodies]
    python watch_events.py --endpoint URL count --queue-url Q
        -> {"visible": N, "in_flight": N}

The queues and the topic belong to the caller of s3audit (the management account's
credentials); the buckets to their scenario accounts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenario import MANAGEMENT_CREDENTIALS, Session  # noqa: E402

REGION = "us-east-1"


def client(endpoint: str, service: str):
    import boto3

    return boto3.session.Session(**MANAGEMENT_CREDENTIALS).client(
        service, region_name=REGION, endpoint_url=endpoint)


def setup(endpoint: str) -> dict[str, Any]:
    sqs, sns = client(endpoint, "sqs"), client(endpoint, "sns")
    dead = sqs.create_queue(QueueName="s3audit-events-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # A message received twice without being deleted goes to the dead-letter queue; a short
    # visibility timeout brings an unprocessed message back quickly.
    queue = sqs.create_queue(QueueName="s3audit-events", Attributes={
        "VisibilityTimeout": "2",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "2"}),
    })["QueueUrl"]
    topic = sns.create_topic(Name="s3audit-findings")["TopicArn"]
    notifications = sqs.create_queue(QueueName="s3audit-notifications")["QueueUrl"]
    notifications_arn = sqs.get_queue_attributes(
        QueueUrl=notifications, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=notifications_arn,
                  Attributes={"RawMessageDelivery": "true"})
    return {"queue_url": queue, "dead_letter_queue_url": dead, "topic_arn": topic,
            "notification_queue_url": notifications}


def cloudtrail_event(name: str, account: str, region: str, bucket: str,
                     parameters: dict[str, Any]) -> dict[str, Any]:
    """The event EventBridge delivers for a CloudTrail management event of S3."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.s3", "account": account, "time": now, "region": region,
        "resources": [], "detail": {
            "eventVersion": "1.09", "eventTime": now, "eventSource": "s3.amazonaws.com",
            "eventName": name, "awsRegion": region, "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2", "requestParameters": {"bucketName": bucket, **parameters},
            "responseElements": None, "eventID": str(uuid.uuid4()), "readOnly": False,
            "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": account,
            "eventCategory": "Management",
        },
    }


def change(endpoint: str, scenario: dict[str, Any], bucket: str, action: str) -> dict[str, Any]:
    spec = next(b for b in scenario["buckets"] if b["name"] == bucket)
    mgmt = Session(endpoint, scenario["management_account_id"], MANAGEMENT_CREDENTIALS)
    session = mgmt if spec["account"] == mgmt.account else mgmt.assume(spec["account"])
    s3 = session.client("s3", spec["region"])
    status = {"suspend-versioning": "Suspended", "enable-versioning": "Enabled"}[action]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
    return cloudtrail_event("PutBucketVersioning", spec["account"], spec["region"], bucket,
                            {"VersioningConfiguration": {"Status": status}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--scenario", type=Path)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup")
    change_parser = commands.add_parser("change")
    change_parser.add_argument("--bucket", required=True)
    change_parser.add_argument("--action", required=True)
    send_parser = commands.add_parser("send")
    send_parser.add_argument("--queue-url", required=True)
    send_parser.add_argument("--count", type=int, default=1)
    for name in ("receive", "count"):
        sub = commands.add_parser(name)
        sub.add_argument("--queue-url", required=True)
        sub.add_argument("--wait", type=int, default=0)
    args = parser.parse_args()

    if args.command == "setup":
        result: Any = setup(args.endpoint)
    elif args.command == "change":
        result = change(args.endpoint, json.loads(args.scenario.read_text()), args.bucket, args.action)
    elif args.command == "send":
        body = sys.stdin.read()
        sqs = client(args.endpoint, "sqs")
        for _ in range(args.count):
            sqs.send_message(QueueUrl=args.queue_url, MessageBody=body)
        result = {"sent_at": time.time()}
    elif args.command == "receive":
        sqs = client(args.endpoint, "sqs")
        messages = sqs.receive_message(QueueUrl=args.queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=args.wait).get("Messages", [])
        result = [m["Body"] for m in messages]
    else:
        sqs = client(args.endpoint, "sqs")
        attributes = sqs.get_queue_attributes(QueueUrl=args.queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        result = {"visible": int(attributes["ApproximateNumberOfMessages"]),
                  "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"])}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
