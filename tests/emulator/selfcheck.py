#!/usr/bin/env python3
"""Self-check of the emulator: start the launcher, build the scenario, read
things back with boto3 and look at the raw XML where the Rust SDK is strict.

    .venv-emulator/bin/python tests/emulator/selfcheck.py

Prints one OK/FAIL line per check and a closing "N passed, N failed" line;
exits non-zero if anything failed. Stops the launcher it started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from scenario import MANAGEMENT_CREDENTIALS, Session  # noqa: E402

results: list[bool] = []


def check(name: str, ok: bool, detail: object = "") -> None:
    results.append(bool(ok))
    print(f"{'OK  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {detail}"), flush=True)


def raw_roots(client) -> dict[str, tuple[int, str]]:
    """Record (status, first 200 chars of the raw body) per operation:
    botocore does not care about XML root names, the Rust SDK does."""
    seen: dict[str, tuple[int, str]] = {}

    def hook(http_response, model, **_):
        seen[model.name] = (http_response.status_code, http_response.content.decode(errors="replace")[:400])

    client.meta.events.register("after-call", hook)
    return seen


def root_is(seen: dict[str, tuple[int, str]], op: str, root: str) -> bool:
    body = seen.get(op, (0, ""))[1]
    return f"<{root}" in body.split("?>", 1)[-1][:len(root) + 3]


def main() -> int:
    server = subprocess.Popen([sys.executable, os.path.join(HERE, "server.py"), "--port", "0"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().strip()
        check("launcher prints READY", line.startswith("READY http://127.0.0.1:"), line)
        endpoint = line.split()[1]
        out = os.path.join(tempfile.mkdtemp(), "scenario.json")
        started = time.monotonic()
        subprocess.run([sys.executable, os.path.join(HERE, "scenario.py"), "--endpoint", endpoint, "--out", out],
                       check=True)
        check(f"scenario built ({time.monotonic() - started:.1f} s)", True)
        scen = json.load(open(out))
        run_checks(endpoint, scen)
        # Same seed, same ids: rebuild on the same server and compare.
        subprocess.run([sys.executable, os.path.join(HERE, "scenario.py"), "--endpoint", endpoint, "--out", out + "2"],
                       check=True, stderr=subprocess.DEVNULL)
        again = json.load(open(out + "2"))
        check("seeded rebuild gives the same account ids", again["member_account_ids"] == scen["member_account_ids"],
              (again["member_account_ids"], scen["member_account_ids"]))
        subprocess.run([sys.executable, os.path.join(HERE, "scenario.py"), "--endpoint", endpoint, "--out", out + "3",
                        "--enforce-iam"], check=True, stderr=subprocess.DEVNULL)
        run_enforced_checks(endpoint, json.load(open(out + "3")))
    finally:
        server.stdin.close()  # the launcher exits when its stdin pipe closes
        try:
            server.wait(timeout=10)
            check("launcher exits when stdin closes", True)
        except subprocess.TimeoutExpired:
            server.terminate()
            check("launcher exits when stdin closes", False, "had to SIGTERM it")
    passed, failed = results.count(True), results.count(False)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def run_checks(endpoint: str, scen: dict) -> None:
    mgmt = Session(endpoint, scen["management_account_id"], MANAGEMENT_CREDENTIALS)
    accounts = {a["name"]: a for a in scen["accounts"]}
    prod = mgmt.assume(accounts["prod-app"]["id"])
    dev = mgmt.assume(accounts["dev-sandbox"]["id"])

    # Organizations / STS
    org = mgmt.client("organizations")
    listed = {a["Id"] for a in org.list_accounts()["Accounts"]}
    check("organizations lists all accounts", listed == {a["id"] for a in scen["accounts"]}, listed)
    who = prod.client("sts").get_caller_identity()["Account"]
    check("assumed role acts as the member", who == accounts["prod-app"]["id"], who)
    try:
        mgmt.assume(accounts["legacy-vendor"]["id"])
        check("AssumeRole into legacy-vendor refused", False, "it was allowed")
    except Exception as e:  # botocore ClientError
        err = getattr(e, "response", {})
        check("AssumeRole into legacy-vendor refused (403 AccessDenied)",
              err.get("Error", {}).get("Code") == "AccessDenied" and err["ResponseMetadata"]["HTTPStatusCode"] == 403, e)
    try:
        mgmt.assume(accounts["prod-app"]["id"], role_name="NoSuchRole")
        check("AssumeRole of a missing role refused", False, "it was allowed")
    except Exception as e:
        check("AssumeRole of a missing role refused", "AccessDenied" in str(e), e)

    # S3: versioning + MFA delete, with the raw root element
    s3 = prod.client("s3", "eu-west-1")
    seen = raw_roots(s3)
    v = s3.get_bucket_versioning(Bucket="prod-data-lake")
    check("GetBucketVersioning Status/MFADelete", v.get("Status") == "Enabled" and v.get("MFADelete") == "Enabled", v)
    check("GetBucketVersioning root <VersioningConfiguration>", root_is(seen, "GetBucketVersioning", "VersioningConfiguration"), seen.get("GetBucketVersioning"))
    v = s3.get_bucket_versioning(Bucket="prod-legacy-acl")
    check("suspended versioning without MFADelete", v.get("Status") == "Suspended" and "MFADelete" not in v, v)

    # Intelligent tiering and inventory lists
    it = s3.list_bucket_intelligent_tiering_configurations(Bucket="prod-data-lake")
    ids = [c["Id"] for c in it.get("IntelligentTieringConfigurationList", [])]
    check("ListBucketIntelligentTieringConfigurations", ids == ["archive"], it)
    check("  root <ListBucketIntelligentTieringConfigurationsOutput>",
          root_is(seen, "ListBucketIntelligentTieringConfigurations", "ListBucketIntelligentTieringConfigurationsOutput"),
          seen.get("ListBucketIntelligentTieringConfigurations"))
    got = s3.get_bucket_intelligent_tiering_configuration(Bucket="prod-data-lake", Id="archive")
    check("GetBucketIntelligentTieringConfiguration", len(got["IntelligentTieringConfiguration"]["Tierings"]) == 2, got)
    inv = s3.list_bucket_inventory_configurations(Bucket="prod-data-lake")
    check("ListBucketInventoryConfigurations", [c["Id"] for c in inv.get("InventoryConfigurationList", [])] == ["weekly"], inv)
    check("  root <ListInventoryConfigurationsResult>",
          root_is(seen, "ListBucketInventoryConfigurations", "ListInventoryConfigurationsResult"), seen.get("ListBucketInventoryConfigurations"))
    s3.get_bucket_notification_configuration(Bucket="prod-data-lake")
    check("empty notification root <NotificationConfiguration>",
          root_is(seen, "GetBucketNotificationConfiguration", "NotificationConfiguration"), seen.get("GetBucketNotificationConfiguration"))
    s3.get_bucket_accelerate_configuration(Bucket="prod-data-lake")
    check("accelerate root <AccelerateConfiguration>",
          root_is(seen, "GetBucketAccelerateConfiguration", "AccelerateConfiguration"), seen.get("GetBucketAccelerateConfiguration"))
    s3.get_bucket_request_payment(Bucket="prod-data-lake")
    check("GetBucketRequestPayment root <RequestPaymentConfiguration>",
          root_is(seen, "GetBucketRequestPayment", "RequestPaymentConfiguration"), seen.get("GetBucketRequestPayment"))
    enc = s3.get_bucket_encryption(Bucket="prod-data-lake")["ServerSideEncryptionConfiguration"]["Rules"][0]
    check("SSE-KMS with bucket key", enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms" and enc["BucketKeyEnabled"], enc)
    acl = prod.client("s3", "eu-west-1").get_bucket_acl(Bucket="prod-legacy-acl")
    check("AllUsers READ grant", any(g["Grantee"].get("URI", "").endswith("AllUsers") and g["Permission"] == "READ" for g in acl["Grants"]), acl["Grants"])
    tags = prod.client("s3").get_bucket_tagging(Bucket="prod-public-website")["TagSet"]
    check("hostile tag value kept verbatim", {"Key": "owner", "Value": "<img src=x onerror=alert(1)>"} in tags, tags)
    try:
        dev.client("s3", "ap-southeast-2").get_bucket_policy(Bucket="dev-scratch")
        check("NoSuchBucketPolicy for a bucket without policy", False, "a policy came back")
    except Exception as e:
        check("NoSuchBucketPolicy for a bucket without policy", "NoSuchBucketPolicy" in str(e), e)
    lock = prod.client("s3", "ap-southeast-2").get_object_lock_configuration(Bucket="prod-data-lake-replica")
    check("object lock GOVERNANCE", lock["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE", lock)

    # S3 Control
    s3c = prod.client("s3control")
    seen_c = raw_roots(s3c)
    bpa = s3c.get_public_access_block(AccountId=accounts["prod-app"]["id"])["PublicAccessBlockConfiguration"]
    check("s3control GetPublicAccessBlock (prod: all off)", not any(bpa.values()), bpa)
    check("  root <PublicAccessBlockConfiguration>",
          root_is(seen_c, "GetPublicAccessBlock", "PublicAccessBlockConfiguration"), seen_c.get("GetPublicAccessBlock"))
    aps = s3c.list_access_points(AccountId=accounts["prod-app"]["id"])["AccessPointList"]
    check("s3control ListAccessPoints", [a["Name"] for a in aps] == ["prod-shared-ap"], aps)
    check("  root <ListAccessPointsResult>", root_is(seen_c, "ListAccessPoints", "ListAccessPointsResult"), seen_c.get("ListAccessPoints"))
    st = s3c.get_access_point_policy_status(AccountId=accounts["prod-app"]["id"], Name="prod-shared-ap")
    check("access point policy not public", st["PolicyStatus"]["IsPublic"] is False, st)
    check("  root <GetAccessPointPolicyStatusResult>",
          root_is(seen_c, "GetAccessPointPolicyStatus", "GetAccessPointPolicyStatusResult"), seen_c.get("GetAccessPointPolicyStatus"))
    try:
        dev.client("s3control").get_public_access_block(AccountId=accounts["dev-sandbox"]["id"])
        check("dev has no account BPA", False, "one came back")
    except Exception as e:
        check("dev has no account BPA (NoSuchPublicAccessBlockConfiguration)", "NoSuchPublicAccessBlockConfiguration" in str(e), e)

    # Access Analyzer (REST-JSON, served by the launcher)
    aa = prod.client("accessanalyzer")
    analyzers = aa.list_analyzers(type="ACCOUNT")["analyzers"]
    check("accessanalyzer ListAnalyzers (prod)", [a["name"] for a in analyzers] == ["prod-analyzer"], analyzers)
    check("ListAnalyzers type filter", aa.list_analyzers(type="ORGANIZATION")["analyzers"] == [])
    check("analyzers are per account", mgmt.client("accessanalyzer").list_analyzers()["analyzers"][0]["name"] == "org-analyzer")
    check("analyzers are per region", prod.client("accessanalyzer", "eu-west-1").list_analyzers()["analyzers"] == [])
    findings = aa.list_findings_v2(analyzerArn=analyzers[0]["arn"], filter={"status": {"eq": ["ACTIVE"]}})["findings"]
    check("ListFindingsV2 active finding for the public bucket",
          [f["resource"] for f in findings] == ["arn:aws:s3:::prod-public-website"], findings)
    detail = aa.get_finding_v2(analyzerArn=analyzers[0]["arn"], id=findings[0]["id"])
    check("GetFindingV2 externalAccessDetails.isPublic", detail["findingDetails"][0]["externalAccessDetails"]["isPublic"] is True, detail)
    try:
        dev.client("accessanalyzer").list_findings_v2(analyzerArn=analyzers[0]["arn"])
        check("another account's analyzer is not found", False, "it answered")
    except Exception as e:
        check("another account's analyzer is not found", "ResourceNotFoundException" in str(e), e)

    # CloudTrail
    sel = mgmt.client("cloudtrail").get_event_selectors(TrailName="org-trail")
    data = [r for s in sel.get("EventSelectors", []) for r in s.get("DataResources", [])]
    check("CloudTrail S3 data event selector", data and data[0]["Type"] == "AWS::S3::Object", sel)


def run_enforced_checks(endpoint: str, scen: dict) -> None:
    """--enforce-iam: moto checks signatures and IAM policies."""
    accounts = {a["name"]: a for a in scen["accounts"]}
    try:
        Session(endpoint, scen["management_account_id"], MANAGEMENT_CREDENTIALS).client("s3").list_buckets()
        check("enforced: unknown key refused", False, "it was accepted")
    except Exception as e:
        check("enforced: unknown key refused (InvalidAccessKeyId)", "InvalidAccessKeyId" in str(e), e)
    auditor = Session(endpoint, scen["management_account_id"], scen["auditor_credentials"])
    prod = auditor.assume(accounts["prod-app"]["id"])
    s3 = prod.client("s3")
    check("enforced: other calls on prod-org-shared allowed", s3.get_bucket_encryption(Bucket="prod-org-shared") is not None)
    try:
        s3.get_bucket_policy(Bucket="prod-org-shared")
        check("enforced: GetBucketPolicy denied on prod-org-shared", False, "it was allowed")
    except Exception as e:
        err = getattr(e, "response", {})
        check("enforced: GetBucketPolicy denied on prod-org-shared (403 AccessDenied)",
              err.get("Error", {}).get("Code") == "AccessDenied" and err["ResponseMetadata"]["HTTPStatusCode"] == 403, e)
    check("enforced: GetBucketPolicy allowed elsewhere", "Statement" in s3.get_bucket_policy(Bucket="prod-public-website")["Policy"])
    try:
        auditor.assume(accounts["legacy-vendor"]["id"])
        check("enforced: AssumeRole into legacy-vendor refused", False, "it was allowed")
    except Exception as e:
        check("enforced: AssumeRole into legacy-vendor refused", "AccessDenied" in str(e), e)


if __name__ == "__main__":
    sys.exit(main())
