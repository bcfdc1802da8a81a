#!/usr/bin/env python3
"""Self-check of the emulator: start the launcher, build the scenario, read
things back with boto3 and look at the raw XML where the Rust SDK is strict.

    .venv-emulator/bin/python tests/emulator/selfcheck.py

Prints one OK/FAIL line per check and a closing "N passed, N failed" line;
exits non-zero if anything failed. Stops the launcher it started.
"""

from __future__ import annotations

import datetime
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


def cbor_call(sess: Session, region: str, operation: str, body: dict) -> tuple[int, dict, bytes]:
    """One CloudWatch call as the AWS SDK for Rust makes it: Smithy RPC v2 CBOR, SigV4 for
    `monitoring`. Returns (status, headers, raw body)."""
    import cbor2
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    c = sess.credentials
    req = AWSRequest(method="POST", url=f"{sess.endpoint}/service/GraniteServiceVersion20100801/operation/{operation}",
                     data=cbor2.dumps(body), headers={"Content-Type": "application/cbor", "Accept": "application/cbor",
                                                      "smithy-protocol": "rpc-v2-cbor"})
    SigV4Auth(Credentials(c["aws_access_key_id"], c["aws_secret_access_key"], c.get("aws_session_token")),
              "monitoring", region).add_auth(req)
    prepared = req.prepare()
    try:
        with urllib.request.urlopen(urllib.request.Request(prepared.url, data=prepared.body, method="POST",
                                                           headers=dict(prepared.headers)), timeout=30) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def run_cloudwatch_checks(mgmt: Session, scen: dict, sessions: dict[str, Session]) -> None:
    """CloudWatch storage metrics over Smithy RPC v2 CBOR, against what the scenario wrote."""
    import cbor2

    def metric_set(account: dict, region: str) -> set:
        want = set()
        for b in scen["buckets"]:
            m = b.get("storage_metrics")
            if b["account"] == account["id"] and b["region"] == region and m:
                want |= {("BucketSizeBytes", b["name"], t) for t in m["bytes"]}
                want |= {("NumberOfObjects", b["name"], "AllStorageTypes")} if m["objects"] is not None else set()
        for o in account.get("storage_metrics_without_bucket", []):
            if o["region"] == region:
                want |= {("BucketSizeBytes", o["bucket"], t) for t in o["bytes"]} | {("NumberOfObjects", o["bucket"], "AllStorageTypes")}
        if account["name"] == "prod-app" and region == "us-east-1":  # the older day's extra type
            want.add(("BucketSizeBytes", "prod-public-website", "StandardIAStorage"))
        return want

    listed_ok, values_ok, wire_ok = [], [], []
    midnight = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    for account in scen["accounts"]:
        if not account["assumable"]:
            continue
        sess = sessions[account["id"]]
        for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
            status, headers, raw = cbor_call(sess, region, "ListMetrics", {"Namespace": "AWS/S3"})
            out = cbor2.loads(raw) if status == 200 else {}
            got = {(m["MetricName"], *[d["Value"] for d in sorted(m["Dimensions"], key=lambda d: d["Name"])])
                   for m in out.get("Metrics", [])}
            listed_ok.append((status, headers.get("smithy-protocol"), got == metric_set(account, region),
                              account["name"], region, sorted(got ^ metric_set(account, region))))
            # One GetMetricData per region for every listed metric, over the last three days.
            metrics = out.get("Metrics", [])
            if not metrics:
                continue
            queries = [{"Id": f"m{i}", "MetricStat": {"Metric": m, "Period": 86400, "Stat": "Average"}}
                       for i, m in enumerate(metrics)]
            status, headers, raw = cbor_call(sess, region, "GetMetricData", {
                "MetricDataQueries": queries, "ScanBy": "TimestampDescending",
                "StartTime": cbor2.CBORTag(1, (midnight - datetime.timedelta(days=3)).timestamp()),
                "EndTime": cbor2.CBORTag(1, datetime.datetime.now(datetime.timezone.utc).timestamp())})
            wire_ok.append((status, b"\xc1\xfb" in raw, account["name"], region))  # tag 1 + float64
            results = {r["Id"]: r for r in cbor2.loads(raw)["MetricDataResults"]} if status == 200 else {}
            for i, m in enumerate(metrics):
                r = results.get(f"m{i}", {})
                dims = {d["Name"]: d["Value"] for d in m["Dimensions"]}
                bucket = next((b for b in scen["buckets"] if b["name"] == dims["BucketName"]), None)
                if bucket is None or not bucket["storage_metrics"]:
                    continue
                sm = bucket["storage_metrics"]
                want = sm["objects"] if m["MetricName"] == "NumberOfObjects" else sm["bytes"].get(dims["StorageType"])
                latest_day = r["Timestamps"][0].strftime("%Y-%m-%d") if r.get("Timestamps") else None
                latest = r["Values"][0] if r.get("Values") else None
                if want is None:  # listed for an older day only: nothing on the latest day
                    values_ok.append((latest_day != sm["day"], m, r))
                else:
                    values_ok.append((latest_day == sm["day"] and latest == float(want)
                                      and all(isinstance(v, float) for v in r["Values"]), m, r))
    bad = [x for x in listed_ok if not (x[0] == 200 and x[1] == "rpc-v2-cbor" and x[2])]
    check(f"cloudwatch ListMetrics AWS/S3 per account and region ({len(listed_ok)} calls)", not bad, bad)
    bad = [x for x in wire_ok if not (x[0] == 200 and x[1])]
    check("cloudwatch GetMetricData answers with tag-1 float timestamps", wire_ok and not bad, bad)
    bad = [x for x in values_ok if not x[0]]
    check(f"cloudwatch GetMetricData latest day = the scenario's metrics ({len(values_ok)} series)",
          values_ok and not bad, bad[:3])
    no_metrics = [b for b in scen["buckets"] if b["visible"] and b["storage_metrics"] is None]
    b = no_metrics[0]
    status, _, raw = cbor_call(sessions[b["account"]], b["region"], "ListMetrics",
                               {"Namespace": "AWS/S3", "Dimensions": [{"Name": "BucketName", "Value": b["name"]}]})
    check(f"cloudwatch: no metrics for {b['name']} (none written)", status == 200 and cbor2.loads(raw) == {"Metrics": []},
          (status, raw))
    status, headers, raw = cbor_call(mgmt, "us-east-1", "DescribeAlarms", {})
    err = cbor2.loads(raw) if raw else {}
    check("cloudwatch: another operation is a 400 naming it",
          status == 400 and "DescribeAlarms" in err.get("message", "") and err.get("__type") == "UnknownOperationException"
          and headers.get("x-amzn-query-error") == "InvalidAction;Sender", (status, headers, err))
    # botocore's own RPC v2 CBOR client (it prefers JSON for CloudWatch; forced here) reads the same answers.
    import botocore.model

    original = botocore.model.ServiceModel.resolved_protocol
    botocore.model.ServiceModel.resolved_protocol = property(
        lambda self: "smithy-rpc-v2-cbor" if "smithy-rpc-v2-cbor" in (self.metadata.get("protocols") or []) else original.fget(self))
    try:
        prod = sessions[next(a["id"] for a in scen["accounts"] if a["name"] == "prod-app")]
        cw = Session(prod.endpoint, prod.account, prod.credentials).client("cloudwatch", "eu-west-1")
        check("  botocore's CBOR client is in use", cw.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor")
        pages = list(cw.get_paginator("list_metrics").paginate(
            Namespace="AWS/S3", Dimensions=[{"Name": "BucketName", "Value": "prod-data-lake"}]))
        names = sorted(d["Value"] for p in pages for m in p["Metrics"] for d in m["Dimensions"] if d["Name"] == "StorageType")
        check("  botocore ListMetrics (CBOR) for prod-data-lake", len(names) == 7 and "DeepArchiveStorage" in names, names)
        r = cw.get_metric_data(MetricDataQueries=[{"Id": "deep", "MetricStat": {"Metric": {
            "Namespace": "AWS/S3", "MetricName": "BucketSizeBytes", "Dimensions": [
                {"Name": "StorageType", "Value": "DeepArchiveStorage"}, {"Name": "BucketName", "Value": "prod-data-lake"}]},
            "Period": 86400, "Stat": "Average"}}], StartTime=midnight - datetime.timedelta(days=3), EndTime=midnight)
        res = r["MetricDataResults"][0]
        check("  botocore GetMetricData (CBOR): DeepArchiveStorage at yesterday 00:00 UTC",
              res["Values"] == [1024 * 1024 ** 3] and res["Timestamps"][0] == midnight - datetime.timedelta(days=1), res)
    finally:
        botocore.model.ServiceModel.resolved_protocol = original


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

    sessions = {scen["management_account_id"]: mgmt, **{
        a["id"]: mgmt.assume(a["id"]) for a in scen["accounts"] if not a["management"] and a["assumable"]}}
    run_cloudwatch_checks(mgmt, scen, sessions)


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
