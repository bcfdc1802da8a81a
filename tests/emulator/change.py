"""Changes three buckets of the default scenario, as a night between two audits would:

- prod-public-website: its public bucket policy is deleted (fixes bucket-public-read and
  bucket-policy-public; bucket-tls-not-enforced stays, there is no policy at all now). The
  emulator's Access Analyzer does not re-analyse, so its finding on the bucket stays active:
  s3audit now reports that Access Analyzer sees external access it cannot explain (new:
  bucket-external-access-verdict-differs-from-access-analyzer), as it would for a stale or
  unexplained finding on AWS;
- prod-data-lake: server access logging is switched off (new: bucket-server-access-logging-disabled).
  It was the only bucket logging into prod-access-logs-eu, which is then no longer a log
  target: S3 server access logs cannot be written to a bucket encrypted with SSE-KMS, so the
  rule asking for KMS skips log targets, and now applies to it (new:
  bucket-default-encryption-not-kms on prod-access-logs-eu);
- dev-ci-artifacts: versioning is suspended (new: bucket-versioning-disabled).

    python change.py --endpoint URL --scenario scenario.json

Prints a JSON document with the findings the change should add and remove, as
{"new": [[rule, bucket], ...], "fixed": [[rule, bucket], ...]}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenario import MANAGEMENT_CREDENTIALS, Session  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--scenario", required=True, type=Path)
    args = parser.parse_args()
    scenario = json.loads(args.scenario.read_text())
    buckets = {b["name"]: b for b in scenario["buckets"]}
    mgmt = Session(args.endpoint, scenario["management_account_id"], MANAGEMENT_CREDENTIALS)

    def s3_for(name: str):
        bucket = buckets[name]
        session = mgmt if bucket["account"] == mgmt.account else mgmt.assume(bucket["account"])
        return session.client("s3", bucket["region"])

    s3_for("prod-public-website").delete_bucket_policy(Bucket="prod-public-website")
    s3_for("prod-data-lake").put_bucket_logging(Bucket="prod-data-lake", BucketLoggingStatus={})
    s3_for("dev-ci-artifacts").put_bucket_versioning(
        Bucket="dev-ci-artifacts", VersioningConfiguration={"Status": "Suspended"}
    )
    json.dump(
        {
            "new": [
                ["bucket-server-access-logging-disabled", "prod-data-lake"],
                ["bucket-default-encryption-not-kms", "prod-access-logs-eu"],
                ["bucket-versioning-disabled", "dev-ci-artifacts"],
                ["bucket-external-access-verdict-differs-from-access-analyzer", "prod-public-website"],
            ],
            "fixed": [
                ["bucket-policy-public", "prod-public-website"],
                ["bucket-public-read", "prod-public-website"],
            ],
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
