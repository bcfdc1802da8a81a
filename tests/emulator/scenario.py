#!/usr/bin/env python3
"""Build the emulated AWS Organization that s3audit's tests and demo scan.

    python tests/emulator/scenario.py --endpoint URL --out FILE.json [--seed 42]
                                      [--scale ACCOUNTS:BUCKETS]

Talks to a running tests/emulator/server.py (the patched moto) with boto3. It
first resets the emulator and seeds its id generator, so the same seed gives
the same account ids every time. Every bucket setting is set explicitly:
moto creates buckets with pre-2023 defaults (no Block Public Access, ACLs
enabled, no default encryption), which no longer exist on AWS.

The default scenario (see build_default) is a management account plus four
members: three the auditor can enter, and one (legacy-vendor) whose
OrganizationAccountAccessRole no longer trusts the management account, so
AssumeRole is refused there. --scale N:M builds N members with M buckets each
and a simple, regular mix instead, for benchmarks.

The --out JSON records what was built and every configuration choice per
bucket, so tests derive expected verdicts from it rather than hard-coding
them. Its format is described in tests/emulator/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config

ROLE_NAME = "OrganizationAccountAccessRole"
# Any access key that moto has not issued acts as its default account, which
# the scenario makes the organization's management account.
MANAGEMENT_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
BPA_ON = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
BPA_OFF = {k: False for k in BPA_ON}
# An account outside the organization, for grants to strangers.
OUTSIDE_ACCOUNT = "999988887777"
HOSTILE_TAGS = ("<img src=x onerror=alert(1)>", "</script>")


# ---------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------


class Session:
    """boto3 clients for one account against the emulator endpoint."""

    def __init__(self, endpoint: str, account: str, credentials: dict[str, str]):
        self.endpoint = endpoint
        self.account = account
        self.credentials = credentials
        self._session = boto3.session.Session(**credentials)
        # Making a boto3 client costs ~20 ms of CPU, more than the calls it
        # makes here: cache them. Clients are thread-safe, sessions are not.
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str = "us-east-1"):
        with self._lock:
            if (service, region) not in self._clients:
                self._clients[service, region] = self._new_client(service, region)
            return self._clients[service, region]

    def _new_client(self, service: str, region: str):
        config = Config(
            # Path-style: bucket names are not resolvable host names here.
            s3={"addressing_style": "path"},
            # moto answers Connection: close; keep retries low so mistakes show.
            retries={"max_attempts": 2, "mode": "standard"},
            inject_host_prefix=False,
            max_pool_connections=32,
        )
        client = self._session.client(service, region_name=region, endpoint_url=self.endpoint, config=config)
        if service == "s3control":
            # S3 Control's endpoint rules put the account id in front of the
            # host (123456789012.127.0.0.1), which does not resolve: send the
            # request to the endpoint as given, before it is signed.
            netloc = urlsplit(self.endpoint).netloc

            def to_endpoint(request, **_):
                request.url = urlunsplit(urlsplit(request.url)._replace(netloc=netloc))

            client.meta.events.register("before-sign.s3-control", to_endpoint)
        return client

    def assume(self, account: str, role_name: str = ROLE_NAME) -> "Session":
        creds = self.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{role_name}", RoleSessionName="s3audit-scenario"
        )["Credentials"]
        return Session(self.endpoint, account, {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        })


def moto_api(endpoint: str, path: str, body: bytes = b"") -> bytes:
    # Not form-encoded (urllib's default): werkzeug would then hide the body
    # from moto, and /moto-api/reset-auth reads it as a number.
    req = urllib.request.Request(endpoint + path, data=body, method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.read()


def directory_bucket(endpoint: str, account: dict[str, Any], name: str, region: str, lifecycle: bool) -> None:
    """Directory buckets are created through a zonal endpoint boto3 cannot reach here; the
    launcher has a route for them."""
    body = json.dumps({"account": account["id"], "name": name, "region": region, "lifecycle": lifecycle}).encode()
    req = urllib.request.Request(endpoint + "/_s3audit/directory-buckets", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()
    account.setdefault("directory_buckets", []).append({"name": name, "region": region, "lifecycle": lifecycle})


GIB = 1024 ** 3


def storage_metrics(endpoint: str, account: str, region: str, bucket: str, metrics: dict[str, Any],
                    day: str | None = None) -> dict[str, Any]:
    """S3 publishes its daily storage metrics to CloudWatch by itself; the launcher's route
    writes them (one datapoint at 00:00 UTC of `day`, yesterday by default). `metrics` is
    {"bytes": {StorageType: bytes}, "objects": N}. Returns them with the day."""
    body = {"account": account, "region": region, "bucket": bucket, **metrics}
    if day is not None:
        body["day"] = day
    req = urllib.request.Request(endpoint + "/_s3audit/storage-metrics", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        written = json.loads(resp.read())
    return {"day": written["day"], "bytes": dict(metrics["bytes"]), "objects": metrics.get("objects")}


def days_ago(n: int) -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (now - datetime.timedelta(days=n)).strftime("%Y-%m-%d")


def add_finding(endpoint: str, finding: dict[str, Any]) -> str:
    """Access Analyzer has no API to create findings; the launcher has one."""
    body = json.dumps(finding).encode()
    req = urllib.request.Request(endpoint + "/_s3audit/access-analyzer/findings", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["id"]


# ---------------------------------------------------------------------------
# Bucket building: one spec in, AWS calls out, the spec recorded
# ---------------------------------------------------------------------------


def tls_statement(bucket: str, objects_only: bool = False) -> dict[str, Any]:
    resources = [f"arn:aws:s3:::{bucket}/*"] if objects_only else [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": resources, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def log_delivery_statements(target: str, sources: list[str]) -> list[dict[str, Any]]:
    # One statement per source prefix; moto compares Resource as one string.
    return [{"Sid": f"S3ServerAccessLogs{i}", "Effect": "Allow",
             "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{target}/{src}/*"} for i, src in enumerate(sources)]


def effective_public(spec: dict[str, Any], account_bpa: dict[str, bool] | None) -> bool:
    """Public after Block Public Access at account AND bucket level, as AWS
    evaluates it (either level's setting applies)."""
    def on(key: str) -> bool:
        return bool((spec.get("bpa") or {}).get(key) or (account_bpa or {}).get(key))
    via_policy = spec.get("public_policy", False) and not on("RestrictPublicBuckets")
    via_acl = (spec.get("public_acl", False) or spec.get("authenticated_acl", False)) and not on("IgnorePublicAcls")
    return bool(via_policy or via_acl)


def build_bucket(sess: Session, name: str, region: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Create one bucket as `spec` says. Keys (all optional, defaults = the
    bad/absent choice): bpa (dict|None), ownership, public_acl, public_policy,
    org_id (Principal * limited by aws:PrincipalOrgID), tls ("full"|"objects"|
    None), log_delivery_for (sources), kms_key (ARN, or "aws/s3" for SSE-KMS with the
    AWS managed key; else AES256), bucket_key,
    versioning ("Enabled"|"Suspended"|None), mfa_delete, logging_target,
    lifecycle ("abort"|"expire"|"transition"|None: every lifecycle is one enabled rule that
    expires noncurrent versions after 90 days; "abort" and "transition" also abort incomplete
    multipart uploads after 7 days, "transition" also moves objects to STANDARD_IA after 30
    days and GLACIER after 180), object_lock ("GOVERNANCE"|
    "COMPLIANCE"|None), replicate_to ((bucket, role arn)), intelligent_tiering,
    inventory, tags, authenticated_acl (READ to any AWS account), loose_org_id
    (Principal * under a wildcard aws:PrincipalOrgID), deny_sse_c, tls "version"
    (s3:TlsVersion deny only), no_encryption, object_lock_retention (False: lock
    without default retention), rtc (replication time control), website,
    accelerate, request_metrics, storage_class_analysis, notify (an SNS topic for new objects), public_write (Principal *
    s3:PutObject), grant_to ((account, actions) allowed to another account). Returns the configuration dict written to --out."""
    s3 = sess.client("s3", region)
    create: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    if spec.get("object_lock"):
        create["ObjectLockEnabledForBucket"] = True
    s3.create_bucket(**create)

    if spec.get("bpa") is not None:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=spec["bpa"])
    ownership = spec.get("ownership", "ObjectWriter")
    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]})

    if spec.get("public_acl") or spec.get("authenticated_acl"):
        owner = s3.get_bucket_acl(Bucket=name)["Owner"]
        group = ALL_USERS if spec.get("public_acl") else AUTHENTICATED_USERS
        s3.put_bucket_acl(Bucket=name, AccessControlPolicy={"Owner": owner, "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"Type": "Group", "URI": group}, "Permission": "READ"},
        ]})

    statements: list[dict[str, Any]] = log_delivery_statements(name, spec.get("log_delivery_for", []))
    if spec.get("public_policy"):
        statements.append({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                           "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"})
    if spec.get("org_id"):
        statements.append({"Sid": "OrgRead", "Effect": "Allow", "Principal": "*",
                           "Action": ["s3:GetObject", "s3:ListBucket"],
                           "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                           "Condition": {"StringEquals": {"aws:PrincipalOrgID": spec["org_id"]}}})
    if spec.get("public_write"):
        statements.append({"Sid": "PublicUpload", "Effect": "Allow", "Principal": "*",
                           "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*"})
    for account, actions in spec.get("grant_to", []):
        statements.append({"Sid": f"Grant{account}", "Effect": "Allow",
                           "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": actions,
                           "Resource": f"arn:aws:s3:::{name}/*"})
    if spec.get("loose_org_id"):
        # A wildcard organization id matches every organization: public as written, and to
        # AWS's policy status (which accepts only fixed values). The emulator's policy status
        # counts any condition as restricting, so here it disagrees with s3audit.
        statements.append({"Sid": "AnyOrgRead", "Effect": "Allow", "Principal": "*",
                           "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*",
                           "Condition": {"StringLike": {"aws:PrincipalOrgID": "o-*"}}})
    if spec.get("tls") in ("full", "objects"):
        statements.append(tls_statement(name, objects_only=spec["tls"] == "objects"))
    if spec.get("tls") == "version":
        statements.append({"Sid": "DenyOldTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                           "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                           "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}})
    if spec.get("deny_sse_c"):
        statements.append({"Sid": "DenySseC", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                           "Resource": f"arn:aws:s3:::{name}/*",
                           "Condition": {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}}})
    if statements:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))

    if spec.get("kms_key") == "aws/s3":  # SSE-KMS with no key named: the AWS managed key
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                "BucketKeyEnabled": bool(spec.get("bucket_key"))}
    elif spec.get("kms_key"):
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": spec["kms_key"]},
                "BucketKeyEnabled": bool(spec.get("bucket_key"))}
    else:
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}
    if not spec.get("no_encryption"):
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})

    versioning = spec.get("versioning")
    if spec.get("object_lock") and versioning is None:
        versioning = "Enabled"  # object lock turns versioning on at creation
    if versioning == "Suspended":
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if versioning:
        vc = {"Status": versioning}
        kwargs = {}
        if spec.get("mfa_delete"):
            # AWS requires the root user's MFA; the launcher accepts any token.
            vc["MFADelete"] = "Enabled"
            kwargs["MFA"] = "arn:aws:iam::000000000000:mfa/root-account-mfa-device 123456"
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=vc, **kwargs)

    lock_retention = bool(spec.get("object_lock")) and spec.get("object_lock_retention", True)
    if lock_retention:
        s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": spec["object_lock"], "Days": 30}}})

    if spec.get("logging_target"):
        s3.put_bucket_logging(Bucket=name, BucketLoggingStatus={"LoggingEnabled": {
            "TargetBucket": spec["logging_target"], "TargetPrefix": f"{name}/"}})

    if spec.get("lifecycle"):
        rule = {"ID": "expire-old-versions", "Status": "Enabled", "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 90}}
        if spec["lifecycle"] in ("abort", "transition"):
            rule["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": 7}
        if spec["lifecycle"] == "transition":
            rule["Transitions"] = [{"Days": 30, "StorageClass": "STANDARD_IA"},
                                   {"Days": 180, "StorageClass": "GLACIER"}]
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [rule]})

    if spec.get("replicate_to"):
        dest, role = spec["replicate_to"]
        s3.put_bucket_replication(Bucket=name, ReplicationConfiguration={"Role": role, "Rules": [{
            "ID": "to-replica", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": {"Bucket": f"arn:aws:s3:::{dest}", **({
                "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
                "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}} if spec.get("rtc") else {})}}]})

    if spec.get("intelligent_tiering"):
        s3.put_bucket_intelligent_tiering_configuration(Bucket=name, Id="archive", IntelligentTieringConfiguration={
            "Id": "archive", "Status": "Enabled",
            "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}, {"Days": 180, "AccessTier": "DEEP_ARCHIVE_ACCESS"}]})

    if spec.get("inventory"):
        s3.put_bucket_inventory_configuration(Bucket=name, Id="weekly", InventoryConfiguration={
            "Id": "weekly", "IsEnabled": True, "IncludedObjectVersions": "Current",
            "Schedule": {"Frequency": "Weekly"},
            "Destination": {"S3BucketDestination": {"Bucket": f"arn:aws:s3:::{spec['inventory']}", "Format": "CSV"}}})

    if spec.get("website"):
        s3.put_bucket_website(Bucket=name, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})

    if spec.get("accelerate"):
        s3.put_bucket_accelerate_configuration(Bucket=name, AccelerateConfiguration={"Status": "Enabled"})

    if spec.get("notify"):
        topic = sess.client("sns", region).create_topic(Name=f"{name}-events")["TopicArn"]
        s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
            "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]})

    if spec.get("request_metrics"):
        s3.put_bucket_metrics_configuration(Bucket=name, Id="EntireBucket",
                                            MetricsConfiguration={"Id": "EntireBucket"})

    if spec.get("storage_class_analysis"):
        s3.put_bucket_analytics_configuration(Bucket=name, Id="EntireBucket", AnalyticsConfiguration={
            "Id": "EntireBucket", "StorageClassAnalysis": {}})

    if spec.get("tags"):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in spec["tags"].items()]})

    return {
        "bpa": spec.get("bpa"),
        "ownership": ownership,
        "acl_enabled": ownership != "BucketOwnerEnforced",
        "public_acl": bool(spec.get("public_acl")),
        "public_policy": bool(spec.get("public_policy")),
        "org_restricted_policy": bool(spec.get("org_id")),
        "policy": bool(statements),
        "tls_enforced": spec.get("tls") == "full",
        "tls_objects_only": spec.get("tls") == "objects",
        "tls_version_only": spec.get("tls") == "version",
        "tls_version_enforced": spec.get("tls") == "version",
        "authenticated_acl": bool(spec.get("authenticated_acl")),
        "loose_org_policy": bool(spec.get("loose_org_id")),
        "sse_c_denied": bool(spec.get("deny_sse_c")),
        "public_write": bool(spec.get("public_write")),
        "grants_to": [{"account": a, "actions": acts} for a, acts in spec.get("grant_to", [])],
        "encryption": None if spec.get("no_encryption") else "aws:kms" if spec.get("kms_key") else "AES256",
        "kms": bool(spec.get("kms_key")),
        "kms_key": spec.get("kms_key"),
        "bucket_key": bool(spec.get("kms_key") and spec.get("bucket_key")),
        "versioning": versioning,
        "mfa_delete": bool(spec.get("mfa_delete")),
        "logging": bool(spec.get("logging_target")),
        "logging_target": spec.get("logging_target"),
        "is_log_target": bool(spec.get("log_delivery_for")),
        "lifecycle": bool(spec.get("lifecycle")),
        "abort_multipart": spec.get("lifecycle") in ("abort", "transition"),
        "lifecycle_transition": spec.get("lifecycle") == "transition",
        "object_lock": bool(spec.get("object_lock")),
        "object_lock_mode": spec.get("object_lock"),
        "object_lock_retention": lock_retention,
        "replication_time_control": bool(spec.get("replicate_to") and spec.get("rtc")),
        "website": bool(spec.get("website")),
        "accelerate": bool(spec.get("accelerate")),
        "notifications": bool(spec.get("notify")),
        "request_metrics": bool(spec.get("request_metrics")),
        "storage_class_analysis": bool(spec.get("storage_class_analysis")),
        "replication": bool(spec.get("replicate_to")),
        "replication_destination": spec["replicate_to"][0] if spec.get("replicate_to") else None,
        "is_replication_destination": bool(spec.get("is_replica")),
        "intelligent_tiering": bool(spec.get("intelligent_tiering")),
        "inventory": bool(spec.get("inventory")),
        "tags": spec.get("tags", {}),
    }


# ---------------------------------------------------------------------------
# The organization
# ---------------------------------------------------------------------------


def create_org(mgmt: Session, members: list[tuple[str, str]]) -> tuple[str, list[dict[str, Any]]]:
    """members: (name, OU path like "Root/Workloads/Prod"). Returns org id and
    account records. CreateAccount also creates OrganizationAccountAccessRole
    in the new account, trusting the management account, as AWS does (moto
    5.2.5 does this too)."""
    org = mgmt.client("organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root_id = org.list_roots()["Roots"][0]["Id"]
    ous = {"Root": root_id}

    def ou(path: str) -> str:
        if path not in ous:
            parent, _, name = path.rpartition("/")
            ous[path] = org.create_organizational_unit(ParentId=ou(parent), Name=name)["OrganizationalUnit"]["Id"]
        return ous[path]

    accounts = []
    for name, path in members:
        status = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        account_id = status["AccountId"]
        if path != "Root":
            org.move_account(AccountId=account_id, SourceParentId=root_id, DestinationParentId=ou(path))
        accounts.append({"id": account_id, "name": name, "ou_path": path, "ou_id": ou(path), "management": False})
    return org_id, accounts


def check_role(sess: Session) -> None:
    """The scenario relies on CreateAccount having made the role; say so loudly if not."""
    sess.client("iam").get_role(RoleName=ROLE_NAME)


def build_default(endpoint: str, enforce_iam: bool = False) -> dict[str, Any]:
    result_extra: dict[str, Any] = {"iam_enforced": False}
    mgmt_account = "123456789012"
    mgmt = Session(endpoint, mgmt_account, MANAGEMENT_CREDENTIALS)
    assert mgmt.client("sts").get_caller_identity()["Account"] == mgmt_account
    org_id, members = create_org(mgmt, [
        ("prod-app", "Root/Workloads/Prod"),
        ("dev-sandbox", "Root/Workloads"),
        ("security", "Root/Security"),
        ("legacy-vendor", "Root/Workloads"),
    ])
    by_name = {a["name"]: a for a in members}
    accounts = [{"id": mgmt_account, "name": "management", "ou_path": "Root", "management": True}] + members
    sessions = {mgmt_account: mgmt}
    for a in members:
        sessions[a["id"]] = mgmt.assume(a["id"])
        check_role(sessions[a["id"]])
    buckets: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []

    def bucket(account: dict[str, Any], name: str, region: str, metrics: dict[str, Any] | None = None,
               **spec: Any) -> None:
        """metrics: the bucket's CloudWatch storage metrics ({"bytes": {StorageType: bytes},
        "objects": N}) for yesterday; None = none at all, as for an empty bucket."""
        cfg = build_bucket(sessions[account["id"]], name, region, spec)
        written = storage_metrics(endpoint, account["id"], region, name, metrics) if metrics else None
        buckets.append({"name": name, "account": account["id"], "region": region, "config": cfg,
                        "storage_metrics": written})

    def kms_key(account: dict[str, Any], region: str) -> str:
        return sessions[account["id"]].client("kms", region).create_key(Description="s3audit scenario")["KeyMetadata"]["Arn"]

    def analyzer(account: dict[str, Any], name: str, kind: str = "ACCOUNT", region: str = "us-east-1") -> str:
        arn = sessions[account["id"]].client("accessanalyzer", region).create_analyzer(analyzerName=name, type=kind)["arn"]
        account.setdefault("analyzers", []).append({"name": name, "type": kind, "region": region, "arn": arn})
        return arn

    def storage_lens(account: dict[str, Any], config_id: str, enabled: bool) -> None:
        sessions[account["id"]].client("s3control").put_storage_lens_configuration(
            AccountId=account["id"], ConfigId=config_id, StorageLensConfiguration={
                "Id": config_id, "IsEnabled": enabled, "AccountLevel": {"BucketLevel": {}}})
        account.setdefault("storage_lens", []).append({"id": config_id, "enabled": enabled, "organization_wide": False})

    def mrap(account: dict[str, Any], name: str, bucket_names: list[str], bpa: dict[str, bool]) -> None:
        sessions[account["id"]].client("s3control", "us-west-2").create_multi_region_access_point(
            AccountId=account["id"], ClientToken=name, Details={
                "Name": name, "PublicAccessBlock": bpa, "Regions": [{"Bucket": b} for b in bucket_names]})
        account.setdefault("multi_region_access_points", []).append(
            {"name": name, "bpa_on": all(bpa.values())})

    def guardduty(account: dict[str, Any], region: str, s3_as_feature: bool = True) -> None:
        gd = sessions[account["id"]].client("guardduty", region)
        if s3_as_feature:
            gd.create_detector(Enable=True, Features=[{"Name": "S3_DATA_EVENTS", "Status": "ENABLED"}])
        else:  # the older form: S3 logs as a data source
            gd.create_detector(Enable=True, DataSources={"S3Logs": {"Enable": True}})
        account.setdefault("guardduty_s3_regions", []).append(region)

    def macie(account: dict[str, Any], region: str) -> None:
        sessions[account["id"]].client("macie2", region).enable_macie()
        account.setdefault("macie_regions", []).append(region)

    def distribution(account: dict[str, Any], name: str, origin_bucket: str) -> None:
        """A CloudFront distribution serving one S3 bucket (REST endpoint)."""
        domain = f"{origin_bucket}.s3.us-east-1.amazonaws.com"
        sessions[account["id"]].client("cloudfront").create_distribution(DistributionConfig={
            "CallerReference": name, "Comment": name, "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": name, "DomainName": domain,
                                                  "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
            "DefaultCacheBehavior": {"TargetOriginId": name, "ViewerProtocolPolicy": "redirect-to-https",
                                     "MinTTL": 0, "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                     "TrustedSigners": {"Enabled": False, "Quantity": 0}}})
        account.setdefault("cloudfront_origins", []).append({"distribution": name, "bucket": origin_bucket})

    mgmt_rec, prod, dev, sec, legacy = accounts

    # -- management: CloudTrail with S3 data events, an organization analyzer
    # Storage metrics (CloudWatch, yesterday): exactly 100 GiB, all in Standard-IA, and a
    # lifecycle that does not abort incomplete multipart uploads.
    bucket(mgmt_rec, "mgmt-access-logs", "us-east-1", bpa=BPA_ON, ownership="BucketOwnerEnforced",
           versioning="Enabled", lifecycle="expire", log_delivery_for=["mgmt-cloudtrail-logs"],
           tags={"purpose": "access-logs"},
           metrics={"bytes": {"StandardIAStorage": 100 * GIB}, "objects": 9_000_000})
    bucket(mgmt_rec, "mgmt-cloudtrail-logs", "us-east-1", bpa=BPA_ON, ownership="BucketOwnerEnforced",
           kms_key=kms_key(mgmt_rec, "us-east-1"), bucket_key=True, versioning="Enabled", tls="full",
           logging_target="mgmt-access-logs", lifecycle="abort",
           tags={"purpose": "cloudtrail", "data-classification": "critical", "owner": "security-team"})
    ct = mgmt.client("cloudtrail")
    ct.create_trail(Name="org-trail", S3BucketName="mgmt-cloudtrail-logs", IsMultiRegionTrail=True)
    ct.put_event_selectors(TrailName="org-trail", EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}])
    ct.start_logging(Name="org-trail")
    bucket(mgmt_rec, "mgmt-break-glass", "us-east-1", bpa=BPA_ON, ownership="BucketOwnerEnforced",
           tags={"purpose": "break-glass credentials", "data-classification": "critical", "owner": "security-team"})
    mgmt_rec["trails"] = [{"name": "org-trail", "region": "us-east-1", "s3_data_events": True, "multi_region": True,
                           "write": True, "read": True, "logging": True, "s3_bucket": "mgmt-cloudtrail-logs"}]
    org_analyzer = analyzer(mgmt_rec, "org-analyzer", "ORGANIZATION")
    # A finding on a bucket whose policy and ACL grant nothing outside the account: the kind of
    # disagreement with Access Analyzer that s3audit reports.
    findings.append({"analyzer_arn": org_analyzer, "resource": "arn:aws:s3:::mgmt-access-logs",
                     "id": add_finding(endpoint, {"analyzerArn": org_analyzer, "resource": "arn:aws:s3:::mgmt-access-logs",
                                                  "isPublic": False, "status": "ACTIVE"})})
    storage_lens(mgmt_rec, "default-account-dashboard", enabled=True)
    guardduty(mgmt_rec, "us-east-1")
    macie(mgmt_rec, "us-east-1")

    # -- prod: account BPA explicitly off, a public website, a legacy ACL, a good data lake
    # Storage metrics: 150 GiB in S3 Standard, no lifecycle at all (no transition, no abort of
    # multipart uploads). The day before yesterday also has a datapoint, with a Standard-IA
    # type that yesterday no longer has: only the latest day counts.
    storage_metrics(endpoint, prod["id"], "us-east-1", "prod-public-website",
                    {"bytes": {"StandardStorage": 140 * GIB, "StandardIAStorage": GIB}, "objects": 1_200_000},
                    day=days_ago(2))
    bucket(prod, "prod-public-website", "us-east-1", bpa=BPA_OFF, ownership="ObjectWriter", public_policy=True,
           website=True, accelerate=True, tags={"app": "website", "owner": HOSTILE_TAGS[0], "upload-scope": "global"},
           metrics={"bytes": {"StandardStorage": 150 * GIB}, "objects": 1_250_000})
    bucket(prod, "prod-legacy-acl", "eu-west-1", bpa=BPA_OFF, ownership="ObjectWriter", public_acl=True,
           versioning="Suspended", tags={"app": "legacy", "note": HOSTILE_TAGS[1]})
    bucket(prod, "prod-access-logs-eu", "eu-west-1", bpa=BPA_ON, ownership="BucketOwnerEnforced",
           versioning="Enabled", lifecycle="expire", log_delivery_for=["prod-data-lake"])
    bucket(prod, "prod-data-lake-replica", "ap-southeast-2", bpa=BPA_ON, ownership="BucketOwnerEnforced",
           kms_key=kms_key(prod, "ap-southeast-2"), bucket_key=False, object_lock="GOVERNANCE",
           tls="full", is_replica=True, tags={"app": "data-lake", "replica": "true"})
    replication_role = sessions[prod["id"]].client("iam").create_role(
        RoleName="s3-replication", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    bucket(prod, "prod-data-lake", "eu-west-1", bpa=BPA_ON, ownership="BucketOwnerEnforced",
           kms_key=kms_key(prod, "eu-west-1"), bucket_key=True, versioning="Enabled", mfa_delete=True,
           tls="full", logging_target="prod-access-logs-eu", lifecycle="abort",
           replicate_to=("prod-data-lake-replica", replication_role), rtc=True, intelligent_tiering=True,
           inventory="prod-access-logs-eu", notify=True, deny_sse_c=True, request_metrics=True,
           tags={"app": "data-lake", "data-classification": "critical", "owner": "data-platform"},
           metrics={"bytes": {"StandardStorage": 40 * GIB, "StandardIAStorage": 200 * GIB,
                              "GlacierStorage": 500 * GIB, "DeepArchiveStorage": 1024 * GIB,
                              "IntelligentTieringFAStorage": 60 * GIB, "IntelligentTieringIAStorage": 90 * GIB},
                    "objects": 25_000_000})
    bucket(prod, "prod-partner-share", "us-east-1", bpa=BPA_ON, ownership="BucketOwnerEnforced", versioning="Enabled",
           loose_org_id=True, tls="version", lifecycle="abort", replicate_to=("prod-data-lake-replica", replication_role),
           storage_class_analysis=True,
           tags={"app": "partner-share"})
    bucket(prod, "prod-org-shared", "us-east-1", bpa=BPA_ON, ownership="BucketOwnerEnforced",
           kms_key=kms_key(prod, "us-east-1"), bucket_key=True, versioning="Enabled", org_id=org_id, tls="full",
           lifecycle="abort", grant_to=[(dev["id"], ["s3:GetObject"])], tags={"app": "shared"})
    bucket(prod, "prod-vendor-drop", "eu-west-1", bpa=BPA_ON, ownership="BucketOwnerEnforced", versioning="Enabled",
           lifecycle="abort", tls="full", grant_to=[(OUTSIDE_ACCOUNT, ["s3:PutObject", "s3:PutObjectAcl"])],
           tags={"app": "vendor-exchange", "owner": "partnerships", "data-classification": "confidential"})
    # Large, but its lifecycle moves objects to Standard-IA and Glacier, aborts multipart
    # uploads and expires its (few) noncurrent versions: the storage class analysis that led
    # to the rule is still on.
    bucket(prod, "prod-analytics-archive", "us-east-1", bpa=BPA_ON, ownership="BucketOwnerEnforced",
           versioning="Enabled", lifecycle="transition", tls="full", storage_class_analysis=True,
           tags={"app": "analytics", "owner": "data-platform", "data-classification": "internal"},
           metrics={"bytes": {"StandardStorage": 120 * GIB, "StandardIAStorage": 300 * GIB,
                              "GlacierStorage": 2048 * GIB, "NoncurrentVersionStorage": 30 * GIB},
                    "objects": 4_000_000})
    s3c = sessions[prod["id"]].client("s3control", "us-east-1")
    s3c.create_access_point(AccountId=prod["id"], Name="prod-shared-ap", Bucket="prod-org-shared",
                            PublicAccessBlockConfiguration=BPA_ON, VpcConfiguration={"VpcId": "vpc-0scenario"})
    s3c.put_access_point_policy(AccountId=prod["id"], Name="prod-shared-ap", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{prod['id']}:root"},
        "Action": "s3:GetObject", "Resource": f"arn:aws:s3:us-east-1:{prod['id']}:accesspoint/prod-shared-ap/object/*"}]}))
    prod["access_points"] = [{"name": "prod-shared-ap", "bucket": "prod-org-shared", "region": "us-east-1",
                              "public_policy": False, "bpa_on": True, "vpc": True}]
    ct_prod = sessions[prod["id"]].client("cloudtrail")
    ct_prod.create_trail(Name="prod-management-events", S3BucketName="prod-org-shared")
    prod["trails"] = [{"name": "prod-management-events", "region": "us-east-1", "s3_data_events": False, "multi_region": False,
                       "write": False, "read": False, "logging": False, "s3_bucket": "prod-org-shared"}]
    storage_lens(prod, "default-account-dashboard", enabled=False)
    distribution(prod, "prod-website", "prod-public-website")
    guardduty(prod, "us-east-1")  # not in eu-west-1 or ap-southeast-2, where prod also has buckets
    prod_analyzer = analyzer(prod, "prod-analyzer")
    findings.append({"analyzer_arn": prod_analyzer, "resource": "arn:aws:s3:::prod-public-website",
                     "id": add_finding(endpoint, {"analyzerArn": prod_analyzer, "resource": "arn:aws:s3:::prod-public-website",
                                                  "isPublic": True, "status": "ACTIVE"})})

    # -- dev: no account BPA at all, no analyzer, weak buckets
    bucket(dev, "dev-scratch", "ap-southeast-2", bpa=None, ownership="ObjectWriter", authenticated_acl=True,
           no_encryption=True)
    bucket(dev, "dev-ci-artifacts", "us-east-1", bpa=BPA_ON, ownership="BucketOwnerPreferred",
           versioning="Enabled", lifecycle="expire", tls="objects", logging_target="dev-ci-artifacts",
           log_delivery_for=["dev-ci-artifacts"],
           tags={"team": "ci", "upload-scope": "global"},
           metrics={"bytes": {"StandardStorage": 5 * GIB}, "objects": 12_000})
    bucket(dev, "dev.static.example", "us-east-1", bpa=BPA_ON, ownership="BucketOwnerEnforced",
           tags={"owner": "web-team", "data-classification": "public"})
    bucket(dev, "dev-trail-logs", "us-east-1", bpa=None, ownership="ObjectWriter", public_policy=True,
           public_write=True)
    ct_dev = sessions[dev["id"]].client("cloudtrail")
    ct_dev.create_trail(Name="dev-trail", S3BucketName="dev-trail-logs")
    dev["trails"] = [{"name": "dev-trail", "region": "us-east-1", "s3_data_events": False, "multi_region": False,
                      "write": False, "read": False, "logging": False, "s3_bucket": "dev-trail-logs"}]
    s3c_dev = sessions[dev["id"]].client("s3control", "us-east-1")
    s3c_dev.create_access_point(AccountId=dev["id"], Name="dev-open-ap", Bucket="dev-ci-artifacts",
                                PublicAccessBlockConfiguration=BPA_OFF)
    s3c_dev.put_access_point_policy(AccountId=dev["id"], Name="dev-open-ap", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:us-east-1:{dev['id']}:accesspoint/dev-open-ap/object/*"}]}))
    dev["access_points"] = [{"name": "dev-open-ap", "bucket": "dev-ci-artifacts", "region": "us-east-1",
                             "public_policy": True, "bpa_on": False, "vpc": False}]
    mrap(dev, "dev-global", ["dev-ci-artifacts"], BPA_OFF)
    # Directory buckets (S3 Express One Zone): one without a lifecycle configuration (S3.25).
    directory_bucket(endpoint, dev, "dev-express-cache--use1-az4--x-s3", "us-east-1", lifecycle=False)
    directory_bucket(endpoint, dev, "dev-express-scratch--use1-az4--x-s3", "us-east-1", lifecycle=True)
    # A distribution whose bucket was deleted long ago: the name is free for anyone to take.
    distribution(dev, "dev-old-site", "dev-old-site-assets")
    # CloudWatch keeps a deleted bucket's metrics: ListMetrics still lists this one, whose
    # last datapoint is from three days ago, although no bucket has the name.
    dev["storage_metrics_without_bucket"] = [{"bucket": "dev-deleted-exports", "region": "us-east-1", **storage_metrics(
        endpoint, dev["id"], "us-east-1", "dev-deleted-exports",
        {"bytes": {"StandardStorage": 3 * GIB}, "objects": 4_000}, day=days_ago(3))}]

    # -- security: object lock archive logging to its own log bucket
    bucket(sec, "security-access-logs", "eu-west-1", bpa=BPA_ON, ownership="BucketOwnerEnforced",
           versioning="Enabled", lifecycle="abort", tls="full", log_delivery_for=["security-findings-archive"])
    bucket(sec, "security-findings-archive", "eu-west-1", bpa=BPA_ON, ownership="BucketOwnerEnforced",
           kms_key=kms_key(sec, "eu-west-1"), bucket_key=True, object_lock="COMPLIANCE", tls="full",
           logging_target="security-access-logs", lifecycle="abort", tags={"data-classification": "critical"})
    bucket(sec, "security-lock-no-retention", "eu-west-1", bpa=BPA_ON, ownership="BucketOwnerEnforced",
           object_lock="GOVERNANCE", object_lock_retention=False, tls="full", kms_key="aws/s3", bucket_key=True,
           tags={"owner": "security-team", "data-classification": "internal"})
    ct_sec = sessions[sec["id"]].client("cloudtrail", "eu-west-1")
    ct_sec.create_trail(Name="security-reads", S3BucketName="security-findings-archive", IsMultiRegionTrail=True)
    ct_sec.put_event_selectors(TrailName="security-reads", AdvancedEventSelectors=[{"Name": "S3 reads", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "readOnly", "Equals": ["true"]}]}])
    ct_sec.start_logging(Name="security-reads")
    sec["trails"] = [{"name": "security-reads", "region": "eu-west-1", "s3_data_events": True, "multi_region": True,
                      "write": False, "read": True, "logging": True, "s3_bucket": "security-findings-archive"}]
    mrap(sec, "security-global", ["security-access-logs"], BPA_ON)
    # Versioned without any lifecycle: noncurrent versions are three quarters of its bytes.
    bucket(sec, "security-evidence", "eu-west-1", bpa=BPA_ON, ownership="BucketOwnerEnforced", versioning="Enabled",
           mfa_delete=True, tls="full", tags={"data-classification": "critical", "owner": "incident-response"},
           metrics={"bytes": {"StandardStorage": 20 * GIB, "NoncurrentVersionStorage": 60 * GIB}, "objects": 150_000})
    analyzer(sec, "security-analyzer")
    analyzer(sec, "security-analyzer-eu", region="eu-west-1")
    guardduty(sec, "us-east-1")
    guardduty(sec, "eu-west-1", s3_as_feature=False)
    macie(sec, "us-east-1")
    macie(sec, "eu-west-1")

    # -- legacy-vendor: a bucket the auditor will never see
    bucket(legacy, "legacy-vendor-exports", "us-east-1", bpa=None, ownership="ObjectWriter", public_policy=True)
    analyzer(legacy, "legacy-analyzer")

    # -- Macie: the emulator starts with Macie enabled in every account and region (AWS starts
    # with it off), so switch it off wherever the scenario did not enable it.
    for a in accounts:
        for region in REGIONS:
            if region not in a.get("macie_regions", []):
                sessions[a["id"]].client("macie2", region).disable_macie()

    # -- account-level Block Public Access, last so it cannot refuse the public setups above
    account_bpa = {mgmt_account: BPA_ON, prod["id"]: BPA_OFF, dev["id"]: None, sec["id"]: BPA_ON, legacy["id"]: BPA_ON}
    for a in accounts:
        a["account_bpa"] = account_bpa[a["id"]]
        if a["account_bpa"] is not None:
            sessions[a["id"]].client("s3control").put_public_access_block(
                AccountId=a["id"], PublicAccessBlockConfiguration=a["account_bpa"])

    # -- lock legacy-vendor: its role now trusts only a third-party account, so
    # AssumeRole from the management account is refused (AccessDenied).
    sessions[legacy["id"]].client("iam").update_assume_role_policy(RoleName=ROLE_NAME, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                                                "Action": "sts:AssumeRole"}]}))
    for a in accounts:
        a["assumable"] = True
    try:
        mgmt.assume(legacy["id"])
        sys.exit("scenario: AssumeRole into legacy-vendor was not refused; is the launcher patched?")
    except mgmt.client("sts").exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "AccessDenied", e
        legacy["assumable"] = False

    if enforce_iam:
        result_extra.update(enforce_iam_auth(endpoint, mgmt, sessions, accounts, prod))

    for b in buckets:
        acct = next(a for a in accounts if a["id"] == b["account"])
        b["config"]["account_bpa"] = acct["account_bpa"]
        b["config"]["public_read"] = effective_public(b["config"], acct["account_bpa"])
        b["config"]["access_analyzer_finding"] = any(f["resource"] == f"arn:aws:s3:::{b['name']}" for f in findings)
        b["config"]["denied_actions"] = [d["action"] for d in result_extra.get("denied", []) if d["bucket"] == b["name"]]
        b["visible"] = acct["assumable"]
    return {"management_account_id": mgmt_account, "organization_id": org_id, "accounts": accounts,
            "buckets": buckets, "findings": findings, **result_extra}


def enforce_iam_auth(endpoint: str, mgmt: Session, sessions: dict[str, Session],
                     accounts: list[dict[str, Any]], prod: dict[str, Any]) -> dict[str, Any]:
    """--enforce-iam: turn on moto's IAM enforcement, for tests of AccessDenied.

    From then on every request must be signed with a key moto issued (any
    other key gets InvalidAccessKeyId) and is checked against IAM policies.
    So: an `auditor` user in the management account with an Allow-all policy
    and a key (written to --out as auditor_credentials), an Allow-all inline
    policy on each member's OrganizationAccountAccessRole (moto creates it
    without permissions), and in prod-app an explicit Deny of
    s3:GetBucketPolicy on prod-org-shared, so that one snapshot section is
    `denied`. moto 5.2.5 also honours an explicit Deny of sts:AssumeRole on a
    role ARN in the caller's policy when enforcement is on (measured); the
    scenario keeps legacy-vendor's refusal on the trust policy instead, which
    works with and without enforcement."""
    allow_all = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    iam = mgmt.client("iam")
    iam.create_user(UserName="auditor")
    iam.put_user_policy(UserName="auditor", PolicyName="admin",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow_all]}))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    denied = [{"account": prod["id"], "bucket": "prod-org-shared", "action": "s3:GetBucketPolicy"}]
    for a in accounts:
        if a["management"] or not a["assumable"]:
            continue
        statements = [allow_all] + [
            {"Effect": "Deny", "Action": d["action"], "Resource": f"arn:aws:s3:::{d['bucket']}"}
            for d in denied if d["account"] == a["id"]]
        sessions[a["id"]].client("iam").put_role_policy(
            RoleName=ROLE_NAME, PolicyName="admin",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    moto_api(endpoint, "/moto-api/reset-auth", b"0")
    return {"iam_enforced": True, "denied": denied,
            "auditor_credentials": {"aws_access_key_id": key["AccessKeyId"],
                                    "aws_secret_access_key": key["SecretAccessKey"]}}


def build_scaled(endpoint: str, n_accounts: int, n_buckets: int) -> dict[str, Any]:
    """N members in Root/Workloads x M buckets each, regions round-robin,
    four bucket kinds in turn: good, public policy, unencrypted-ish (AES256,
    no versioning, no TLS policy), logged; every other bucket (even M index)
    has storage metrics. Buckets go up in parallel: moto's
    server is threaded and each bucket is independent."""
    mgmt_account = "123456789012"
    mgmt = Session(endpoint, mgmt_account, MANAGEMENT_CREDENTIALS)
    org_id, members = create_org(mgmt, [(f"member-{i:03d}", "Root/Workloads") for i in range(n_accounts)])
    accounts = [{"id": mgmt_account, "name": "management", "ou_path": "Root", "management": True}] + members
    sessions = {mgmt_account: mgmt, **{a["id"]: mgmt.assume(a["id"]) for a in members}}
    for a in accounts:
        a["assumable"] = True
        a["account_bpa"] = BPA_ON
        sessions[a["id"]].client("s3control").put_public_access_block(AccountId=a["id"], PublicAccessBlockConfiguration=BPA_ON)

    kinds = [
        dict(bpa=BPA_ON, ownership="BucketOwnerEnforced", versioning="Enabled", tls="full", lifecycle="abort"),
        dict(bpa=BPA_OFF, ownership="ObjectWriter", public_policy=True),
        dict(bpa=None, ownership="ObjectWriter"),
        dict(bpa=BPA_ON, ownership="BucketOwnerEnforced", versioning="Enabled", lifecycle="expire", tags={"tier": "logs"}),
    ]
    jobs = []
    for a in members:
        for j in range(n_buckets):
            jobs.append((a, f"bench-{a['id']}-{j:04d}", REGIONS[j % len(REGIONS)], kinds[j % len(kinds)]))

    def one(job):
        a, name, region, spec = job
        cfg = build_bucket(sessions[a["id"]], name, region, spec)
        j = int(name.rsplit("-", 1)[1])
        # Every other bucket has storage metrics: (j + 1) GiB in S3 Standard, 1,000 objects per GiB.
        metrics = storage_metrics(endpoint, a["id"], region, name, {
            "bytes": {"StandardStorage": (j + 1) * GIB}, "objects": (j + 1) * 1000}) if j % 2 == 0 else None
        cfg["account_bpa"] = BPA_ON
        cfg["public_read"] = effective_public(cfg, BPA_ON)
        cfg["access_analyzer_finding"] = False
        cfg["denied_actions"] = []
        return {"name": name, "account": a["id"], "region": region, "config": cfg, "visible": True,
                "storage_metrics": metrics}

    with ThreadPoolExecutor(max_workers=8) as pool:
        buckets = list(pool.map(one, jobs))
    return {"management_account_id": mgmt_account, "organization_id": org_id, "accounts": accounts,
            "buckets": buckets, "findings": [], "iam_enforced": False}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:45678 (from server.py's READY line)")
    parser.add_argument("--out", required=True, help="where to write the scenario description (JSON)")
    parser.add_argument("--seed", type=int, default=42, help="moto's id seed: same seed, same account ids")
    parser.add_argument("--scale", metavar="ACCOUNTS:BUCKETS", help="benchmark organization instead of the default one")
    parser.add_argument("--enforce-iam", action="store_true",
                        help="end with moto's IAM enforcement on (default scenario only); see enforce_iam_auth")
    args = parser.parse_args()
    endpoint = args.endpoint.rstrip("/")

    started = time.monotonic()
    # A previous --enforce-iam run leaves enforcement on, and reset does not
    # turn it off: "inf" is moto's default (never enforce).
    moto_api(endpoint, "/moto-api/reset-auth", b"inf")
    moto_api(endpoint, "/moto-api/reset")  # also clears the launcher's Access Analyzer
    moto_api(endpoint, f"/moto-api/seed?a={args.seed}")
    if args.scale:
        n, m = (int(x) for x in args.scale.split(":"))
        result = build_scaled(endpoint, n, m)
    else:
        result = build_default(endpoint, enforce_iam=args.enforce_iam)
    out = {
        "format": "s3audit-emulator-scenario/1",
        "endpoint": endpoint,
        "seed": args.seed,
        "scale": args.scale,
        "role_name": ROLE_NAME,
        "management_credentials": MANAGEMENT_CREDENTIALS,
        **result,
        "member_account_ids": [a["id"] for a in result["accounts"] if not a["management"]],
        "build_seconds": round(time.monotonic() - started, 2),
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(f"scenario: {len(out['accounts'])} accounts, {len(out['buckets'])} buckets in "
          f"{out['build_seconds']} s -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
