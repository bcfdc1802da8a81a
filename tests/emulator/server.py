#!/usr/bin/env python3
"""Launch moto 5.2.5 in server mode, patched to answer like AWS where s3audit needs it.

    python tests/emulator/server.py [--port 0] [--verbose] [--no-patches]

Binds 127.0.0.1 only. With --port 0 (the default) the OS picks a free port.
Prints exactly one line, ``READY http://127.0.0.1:<port>``, on stdout once the
socket accepts connections. Exits on SIGTERM/SIGINT, and also when stdin
reaches end-of-file *if stdin is a pipe*: a parent that spawns the launcher
with a piped stdin (Rust ``Stdio::piped()``, Python ``stdin=PIPE``) does not
leave it running when the parent dies. With stdin from a terminal or
/dev/null (a shell ``&`` job, CI without stdin) only the signals stop it.

Every patch below is a small function named ``patch_*``; its docstring says
what AWS does and what moto 5.2.5 did instead. Nothing in moto is forked:
the functions wrap moto's classes at start-up. tests/emulator/README.md lists
them. The patches were written against moto 5.2.5 exactly (the pin in
scripts/emulator-setup); ``check_moto_version`` refuses anything else.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import re
import signal
import stat
import sys
import threading
import uuid
from typing import Any, Callable
from urllib.parse import parse_qs
from xml.etree import ElementTree as ET

import moto
from moto.core import serialize as moto_serialize
from moto.core.responses import ActionResult
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

MOTO_VERSION = "5.2.5"
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def check_moto_version() -> None:
    if moto.__version__ != MOTO_VERSION:
        sys.exit(
            f"server.py: moto {moto.__version__} found, patches are for {MOTO_VERSION}; "
            "run scripts/emulator-setup"
        )


# ---------------------------------------------------------------------------
# Patch a: XML root element names
# ---------------------------------------------------------------------------

# S3 operation -> root element the AWS SDK for Rust insists on. Taken from
# the SDK's generated deserializers (`start_el.matches("...")` in aws-sdk-s3
# 1.157), which follow the Smithy model's @xmlName traits. moto 5.2.5 names
# the root "<Operation>Response" for every operation its extras file does not
# list; botocore ignores the root, so boto3-based tests never noticed.
S3_XML_ROOTS = {
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
    # moto answers an empty notification configuration under the old
    # operation name GetBucketNotification; the wire answer is the same.
    "GetBucketNotification": "NotificationConfiguration",
    "GetBucketWebsite": "WebsiteConfiguration",
    "ListBucketInventoryConfigurations": "ListInventoryConfigurationsResult",
}
# S3 Control names every root "<Operation>Result" (GetAccessPointResult,
# ListAccessPointsResult, ...), apart from payload outputs such as
# PublicAccessBlockConfiguration, which moto already gets right, and this one:
S3CONTROL_XML_ROOTS = {"ListStorageLensConfigurations": "ListStorageLensConfigurationResult"}


def xml_root_for(service_id: str, operation: str) -> str | None:
    if service_id == "S3":
        return S3_XML_ROOTS.get(operation)
    if service_id == "S3 Control":
        return S3CONTROL_XML_ROOTS.get(operation, f"{operation}Result")
    return None


def patch_xml_roots() -> None:
    """AWS names the XML root after the output shape's @xmlName (e.g.
    <VersioningConfiguration>, <ListAccessPointsResult>); the Rust SDK rejects
    any other root. moto wrote <GetBucketVersioningResponse>,
    <ListAccessPointsResponse>, ... and,
    for an empty result (no notification configuration, never-versioned
    bucket), no body at all, which the SDK cannot parse either. AWS always
    sends the root, empty if need be: we do the same for the listed
    operations."""
    original = moto_serialize.BaseRestSerializer._serialized_result_to_response

    def serialized_result_to_response(self, resp, result, shape, serialized_result):
        op = self.operation_model
        root = xml_root_for(op.service_model.service_id, op.name)
        # Payload outputs (PublicAccessBlockConfiguration, ...) are rooted by
        # moto correctly, and outputs without body members have no body on AWS.
        if (
            root is None
            or shape is None
            or "payload" in shape.serialization
            or not self.has_body_members(shape)
        ):
            return original(self, resp, result, shape, serialized_result)
        body = serialized_result.get("body") or {}
        self._serialize_namespace_attribute(body)
        resp["body"] = self._serialize_body({root: body})
        resp["headers"].update(serialized_result.get("headers", {}))
        resp["headers"]["Content-Type"] = self.CONTENT_TYPE
        return resp

    moto_serialize.BaseRestSerializer._serialized_result_to_response = serialized_result_to_response


def patch_access_point_policy_status() -> None:
    """AWS's GetAccessPointPolicyStatus says whether the access point policy
    is public. moto answers IsPublic=true for any policy; we reuse moto's own
    bucket-policy evaluation (public = an Allow for "*" without Condition)."""
    from moto.s3.utils import bucket_policy_is_public
    from moto.s3control.responses import S3ControlResponse

    def get_access_point_policy_status(self):
        policy = self.backend.get_access_point_policy(self._get_param("AccountId"), self._get_param("Name"))
        return ActionResult({"PolicyStatus": {"IsPublic": bucket_policy_is_public(policy)}})

    S3ControlResponse.get_access_point_policy_status = get_access_point_policy_status


# ---------------------------------------------------------------------------
# Patches b, c: S3 bucket sub-resources moto lacks or drops
# ---------------------------------------------------------------------------


def _xml_response(root: ET.Element) -> tuple[int, dict[str, str], str]:
    root.set("xmlns", S3_NS)
    body = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
    return 200, {"Content-Type": "application/xml"}, body


def _strip_ns(elem: ET.Element) -> ET.Element:
    """Parse results carry '{ns}Tag' names; re-emit them plain under our root."""
    for e in elem.iter():
        e.tag = e.tag.split("}", 1)[-1]
    return elem


def _s3_error(code: str, message: str, status: int) -> tuple[int, dict[str, str], str]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{uuid.uuid4().hex}</RequestId></Error>"
    )
    return status, {"Content-Type": "application/xml"}, body


def patch_s3_bucket_subresources() -> None:
    """Wrap S3Response's bucket GET/PUT/DELETE dispatchers for the
    sub-resources below; everything else goes to moto unchanged.

    b. MFA delete. AWS stores <MfaDelete>Enabled|Disabled</MfaDelete> from
       PutBucketVersioning (when the request carries a valid x-amz-mfa token)
       and GetBucketVersioning returns it. moto only regex-reads <Status> and
       never returns MfaDelete. We store it on the bucket (without checking
       the token: the scenario has no MFA device) and add it to the answer.

    c. Intelligent-Tiering configurations (?intelligent-tiering). AWS has
       Put/Get/Delete by id and a List whose root is
       <ListBucketIntelligentTieringConfigurationsOutput>. moto has none: the
       GET fell through to ListObjects (root <ListBucketResult>). We keep the
       configuration XML as sent, per bucket and id.

       GetBucketRequestPayment also fell through to ListObjects; we answer
       it as AWS does for a bucket that never configured it (BucketOwner).

    d. Metrics and analytics configurations (?metrics, ?analytics): not
       implemented either (the GET fell through to ListObjects). As for (c),
       Put by id keeps the XML as sent; the List roots are
       <ListMetricsConfigurationsResult> and
       <ListBucketAnalyticsConfigurationResult>.
    """
    from moto.s3.responses import S3Response

    get_orig = S3Response._bucket_response_get
    put_orig = S3Response._bucket_response_put
    delete_orig = S3Response._bucket_response_delete
    versioning_orig = S3Response.get_bucket_versioning

    def bucket(self, name):
        return self.backend.get_bucket(name)  # raises NoSuchBucket like moto does

    def tiering(self, name) -> dict[str, ET.Element]:
        return stored(self, name, "intelligent-tiering")

    def stored(self, name, kind) -> dict[str, ET.Element]:
        """The configurations of one kind kept on the bucket, by id."""
        b = bucket(self, name)
        if not hasattr(b, "s3audit_configurations"):
            b.s3audit_configurations = {}
        return b.s3audit_configurations.setdefault(kind, {})

    listed = {"metrics": "ListMetricsConfigurationsResult", "analytics": "ListBucketAnalyticsConfigurationResult"}

    def get(self, bucket_name, querystring):
        if "intelligent-tiering" in querystring:
            self._authenticate_and_authorize_s3_action(bucket_name=bucket_name)
            configs = tiering(self, bucket_name)
            if "id" in querystring:
                cfg = configs.get(querystring["id"][0])
                if cfg is None:
                    return _s3_error("NoSuchConfiguration", "The specified configuration does not exist.", 404)
                return _xml_response(_strip_ns(ET.fromstring(ET.tostring(cfg))))
            root = ET.Element("ListBucketIntelligentTieringConfigurationsOutput")
            ET.SubElement(root, "IsTruncated").text = "false"
            for cfg_id in sorted(configs):
                root.append(configs[cfg_id])
            return _xml_response(root)
        if "requestPayment" in querystring:
            bucket(self, bucket_name)
            root = ET.Element("RequestPaymentConfiguration")
            ET.SubElement(root, "Payer").text = "BucketOwner"
            return _xml_response(root)
        for kind, root_name in listed.items():
            if kind in querystring and "id" not in querystring:
                self._authenticate_and_authorize_s3_action(bucket_name=bucket_name)
                configs = stored(self, bucket_name, kind)
                root = ET.Element(root_name)
                ET.SubElement(root, "IsTruncated").text = "false"
                for cfg_id in sorted(configs):
                    root.append(configs[cfg_id])
                return _xml_response(root)
        return get_orig(self, bucket_name, querystring)

    def put(self, request, bucket_name, querystring):
        if "intelligent-tiering" in querystring:
            self._authenticate_and_authorize_s3_action(bucket_name=bucket_name)
            cfg = _strip_ns(ET.fromstring(self.body))
            cfg_id = querystring.get("id", [cfg.findtext("Id")])[0]
            tiering(self, bucket_name)[cfg_id] = cfg
            return 200, {}, ""
        for kind in listed:
            if kind in querystring and "id" in querystring:
                self._authenticate_and_authorize_s3_action(bucket_name=bucket_name)
                stored(self, bucket_name, kind)[querystring["id"][0]] = _strip_ns(ET.fromstring(self.body))
                return 204, {}, ""
        if "versioning" in querystring:
            mfa = re.search(r"<MfaDelete>(Enabled|Disabled)</MfaDelete>", self.body.decode("utf-8"))
            response = put_orig(self, request, bucket_name, querystring)
            if mfa and response[0] == 200:
                bucket(self, bucket_name).s3audit_mfa_delete = mfa.group(1)
            return response
        return put_orig(self, request, bucket_name, querystring)

    def delete(self, bucket_name, querystring):
        if "intelligent-tiering" in querystring:
            self._authenticate_and_authorize_s3_action(bucket_name=bucket_name)
            tiering(self, bucket_name).pop(querystring.get("id", [""])[0], None)
            return 204, {}, ""
        return delete_orig(self, bucket_name, querystring)

    def get_bucket_versioning(self):
        status, headers, body = versioning_orig(self)
        mfa = getattr(bucket(self, self.bucket_name), "s3audit_mfa_delete", None)
        if mfa:
            body = body.replace("</VersioningConfiguration>", f"<MfaDelete>{mfa}</MfaDelete></VersioningConfiguration>")
            body = re.sub(r"<VersioningConfiguration([^>]*)/>", rf"<VersioningConfiguration\1><MfaDelete>{mfa}</MfaDelete></VersioningConfiguration>", body)
        return status, headers, body

    S3Response._bucket_response_get = get
    S3Response._bucket_response_put = put
    S3Response._bucket_response_delete = delete
    S3Response.get_bucket_versioning = get_bucket_versioning


# ---------------------------------------------------------------------------
# Patch e: sts:AssumeRole honours the role's existence and trust policy
# ---------------------------------------------------------------------------


def _trust_allows(doc: dict[str, Any], caller_account: str, external_id: str | None) -> bool:
    """A deliberately small evaluation of a role trust policy: an Allow
    statement for sts:AssumeRole whose AWS principal is "*", the caller's
    account id, arn:aws:iam::<caller>:root, or any ARN in the caller's account
    (AWS would demand the exact user/role ARN; we do not know which principal
    moto's access key stands for), and whose StringEquals sts:ExternalId, if
    any, matches. Explicit Deny statements and other conditions are ignored."""
    statements = doc.get("Statement", [])
    for st in statements if isinstance(statements, list) else [statements]:
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if st.get("Effect") != "Allow" or not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        principal = st.get("Principal", {})
        aws = principal if principal == "*" else principal.get("AWS", [])
        aws = [aws] if isinstance(aws, str) else aws
        if not any(p == "*" or p == caller_account or p.split(":")[4:5] == [caller_account] for p in aws):
            continue
        wanted = st.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
        if wanted is not None and external_id not in ([wanted] if isinstance(wanted, str) else wanted):
            continue
        return True
    return False


def patch_macie_timestamps() -> None:
    """AWS writes Macie's timestamps in RFC 3339 with an offset
    (`2026-01-01T00:00:00Z`); moto's GetMacieSession writes Python's
    isoformat() of a naive datetime, without one, which the Rust SDK refuses
    ("failed to parse timestamp"). Add the `Z`."""
    from moto.macie2.responses import MacieResponse

    get_orig = MacieResponse.get_macie_session

    def get_macie_session(self):
        session = json.loads(get_orig(self))
        for key in ("createdAt", "updatedAt"):
            value = session.get(key)
            if isinstance(value, str) and not re.search(r"(Z|[+-]\d\d:\d\d)$", value):
                session[key] = value + "Z"
        return json.dumps(session)

    MacieResponse.get_macie_session = get_macie_session


def patch_sts_assume_role() -> None:
    """AWS refuses AssumeRole (403 AccessDenied, "User: ... is not
    authorized to perform: sts:AssumeRole on resource: ...") when the role
    does not exist or its trust policy does not trust the caller. moto 5.2.5
    hands out credentials for any role ARN, even one that does not exist (it
    checks trust only with IAM enforcement on, and then only for a role in
    the caller's own account). s3audit must report such accounts as not
    scanned, so the emulator needs a way to refuse: we check existence and
    trust (see _trust_allows). Organizations.CreateAccount in moto already
    creates OrganizationAccountAccessRole trusting the management account,
    as AWS does, so the default crawl works unchanged."""
    from moto.iam.models import iam_backends
    from moto.sts.exceptions import STSClientError
    from moto.sts.responses import TokenResponse

    original = TokenResponse.assume_role

    def assume_role(self):
        role_arn = self._get_param("RoleArn") or ""
        match = re.match(r"^arn:aws[\w-]*:iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)$", role_arn)
        allowed = False
        if match:
            account, name = match.groups()
            role = next((r for r in iam_backends[account]["global"].get_roles() if r.name == name), None)
            if role is not None:
                try:
                    doc = json.loads(role.assume_role_policy_document)
                except ValueError:
                    doc = {}
                allowed = _trust_allows(doc, self.current_account, self._get_param("ExternalId"))
        if not allowed:
            # Raised as an STS service exception so that moto's query-protocol serializer
            # writes <ErrorResponse><Error><Code>AccessDenied</Code>, as AWS does (moto's
            # generic AccessDeniedError renders <Errors><Error>, which has no code for the SDK).
            error = STSClientError(
                "AccessDenied",
                f"User: arn:aws:iam::{self.current_account}:root is not authorized to perform: "
                f"sts:AssumeRole on resource: {role_arn}",
            )
            error.code = "AccessDenied"
            raise error
        return original(self)

    TokenResponse.assume_role = assume_role


# ---------------------------------------------------------------------------
# Patch d: a minimal Access Analyzer (moto has none)
# ---------------------------------------------------------------------------


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class AccessAnalyzer:
    """In-memory Access Analyzer, REST-JSON like AWS, enough for s3audit:
    CreateAnalyzer (PUT /analyzer), ListAnalyzers (GET /analyzer?type=),
    GetAnalyzer (GET /analyzer/{name}), ListFindings (POST /finding),
    ListFindingsV2 (POST /findingv2), GetFinding (GET /finding/{id}),
    GetFindingV2 (GET /findingv2/{id}). Analyzers live per (account, region),
    the account being the one moto maps the request's access key to. Findings
    are added by the scenario through POST /_s3audit/access-analyzer/findings
    (see add_finding). No IAM check is made on these calls."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.analyzers: dict[str, dict[str, Any]] = {}  # arn -> analyzer summary
        self.findings: dict[str, list[dict[str, Any]]] = {}  # analyzer arn -> findings

    # -- request plumbing --------------------------------------------------
    def handle(self, request: Request, account: str, region: str) -> Response:
        path, method = request.path, request.method
        body = request.get_json(silent=True) or {}
        try:
            with self.lock:
                if path == "/analyzer" and method == "PUT":
                    return self.create_analyzer(body, account, region)
                if path == "/analyzer" and method == "GET":
                    return self.list_analyzers(request.args, account, region)
                if path.startswith("/analyzer/") and method == "GET":
                    return self.get_analyzer(path.split("/", 2)[2], account, region)
                if path in ("/finding", "/findingv2") and method == "POST":
                    return self.list_findings(body, account, v2=path.endswith("v2"))
                m = re.fullmatch(r"/finding(v2)?/([^/]+)", path)
                if m and method == "GET":
                    return self.get_finding(request.args.get("analyzerArn", ""), m.group(2), account, v2=bool(m.group(1)))
        except KeyError as e:
            return self.error("ValidationException", f"missing {e}", 400)
        return self.error("ValidationException", f"{method} {path} is not emulated", 400)

    @staticmethod
    def json(data: dict[str, Any], status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")

    @staticmethod
    def error(code: str, message: str, status: int) -> Response:
        # The Rust SDK reads the code from x-amzn-errortype first.
        r = AccessAnalyzer.json({"message": message}, status)
        r.headers["x-amzn-errortype"] = code
        return r

    def analyzer_for(self, arn: str, account: str) -> dict[str, Any] | None:
        a = self.analyzers.get(arn)
        return a if a is not None and a["_account"] == account else None

    @staticmethod
    def public(a: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in a.items() if not k.startswith("_")}

    # -- operations --------------------------------------------------------
    def create_analyzer(self, body, account, region) -> Response:
        name = body["analyzerName"]
        arn = f"arn:aws:access-analyzer:{region}:{account}:analyzer/{name}"
        if arn in self.analyzers:
            return self.error("ConflictException", f"Analyzer {name} already exists", 409)
        self.analyzers[arn] = {
            "arn": arn, "name": name, "type": body.get("type", "ACCOUNT"),
            "createdAt": _now(), "status": "ACTIVE", "tags": body.get("tags", {}),
            "_account": account, "_region": region,
        }
        self.findings[arn] = []
        return self.json({"arn": arn})

    def list_analyzers(self, args, account, region) -> Response:
        wanted = args.get("type")
        found = [
            self.public(a) for a in self.analyzers.values()
            if a["_account"] == account and a["_region"] == region and (wanted is None or a["type"] == wanted)
        ]
        return self.json(self.page(found, args.get("maxResults"), args.get("nextToken"), "analyzers"))

    def get_analyzer(self, name, account, region) -> Response:
        a = self.analyzer_for(f"arn:aws:access-analyzer:{region}:{account}:analyzer/{name}", account)
        if a is None:
            return self.error("ResourceNotFoundException", f"Analyzer {name} not found", 404)
        return self.json({"analyzer": self.public(a)})

    def list_findings(self, body, account, v2: bool) -> Response:
        if self.analyzer_for(body["analyzerArn"], account) is None:
            return self.error("ResourceNotFoundException", "Analyzer not found", 404)
        found = [f for f in self.findings[body["analyzerArn"]] if self.matches(f, body.get("filter") or {})]
        shaped = [self.summary(f, v2) for f in found]
        return self.json(self.page(shaped, body.get("maxResults"), body.get("nextToken"), "findings"))

    def get_finding(self, analyzer_arn, finding_id, account, v2: bool) -> Response:
        if self.analyzer_for(analyzer_arn, account) is None:
            return self.error("ResourceNotFoundException", "Analyzer not found", 404)
        f = next((f for f in self.findings[analyzer_arn] if f["id"] == finding_id), None)
        if f is None:
            return self.error("ResourceNotFoundException", f"Finding {finding_id} not found", 404)
        if not v2:
            return self.json({"finding": self.summary(f, v2=False)})
        details = {k: f[k] for k in ("action", "condition", "isPublic", "principal", "sources") if k in f}
        return self.json({**self.summary(f, v2=True), "findingDetails": [{"externalAccessDetails": details}]})

    @staticmethod
    def summary(f: dict[str, Any], v2: bool) -> dict[str, Any]:
        common = ("id", "resource", "resourceType", "resourceOwnerAccount", "status", "createdAt", "analyzedAt", "updatedAt")
        extra = ("findingType",) if v2 else ("principal", "action", "isPublic", "condition", "sources")
        return {k: f[k] for k in common + extra if k in f}

    @staticmethod
    def matches(f: dict[str, Any], flt: dict[str, Any]) -> bool:
        """Filter criteria as AWS takes them: {"field": {"eq"|"neq"|"contains": [..], "exists": bool}}."""
        for field, crit in flt.items():
            value = f.get(field)
            value_s = json.dumps(value) if isinstance(value, bool) else str(value)
            if "eq" in crit and value_s not in [str(v).lower() if isinstance(value, bool) else str(v) for v in crit["eq"]]:
                return False
            if "neq" in crit and value_s in [str(v) for v in crit["neq"]]:
                return False
            if "contains" in crit and not any(str(v) in value_s for v in crit["contains"]):
                return False
            if "exists" in crit and (value is not None) != crit["exists"]:
                return False
        return True

    @staticmethod
    def page(items: list, max_results, token, key: str) -> dict[str, Any]:
        start = int(token or 0)
        size = int(max_results or 100)
        out: dict[str, Any] = {key: items[start:start + size]}
        if start + size < len(items):
            out["nextToken"] = str(start + size)
        return out

    def add_finding(self, body: dict[str, Any]) -> Response:
        """POST /_s3audit/access-analyzer/findings (launcher-only, unsigned):
        {"analyzerArn": ..., "resource": "arn:aws:s3:::bucket", and optionally
        resourceType (AWS::S3::Bucket), resourceOwnerAccount (the analyzer's
        account), status (ACTIVE), isPublic (true), principal ({"AWS": "*"}),
        action (["s3:GetObject"]), condition ({}), findingType
        (ExternalAccess)} -> {"id": ...}."""
        with self.lock:
            a = self.analyzers.get(body.get("analyzerArn", ""))
            if a is None:
                return self.error("ResourceNotFoundException", "Analyzer not found", 404)
            now = _now()
            finding = {
                "id": str(uuid.uuid4()), "resourceType": "AWS::S3::Bucket",
                "resourceOwnerAccount": a["_account"], "status": "ACTIVE", "isPublic": True,
                "principal": {"AWS": "*"}, "action": ["s3:GetObject"], "condition": {},
                "findingType": "ExternalAccess", "createdAt": now, "analyzedAt": now, "updatedAt": now,
                **body,
            }
            del finding["analyzerArn"]
            self.findings[a["arn"]].append(finding)
            return self.json({"id": finding["id"]})


# ---------------------------------------------------------------------------
# Patch g: CloudWatch over Smithy RPC v2 CBOR (moto speaks only query and JSON)
# ---------------------------------------------------------------------------

CBOR_PREFIX = "/service/GraniteServiceVersion20100801/operation/"
S3_NAMESPACE = "AWS/S3"
# GetMetricData and PutMetricData take at most this many queries/datums; ListMetrics pages by 500.
CW_MAX_QUERIES = 500
CW_PAGE = 500
CW_STATS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
# Query-protocol error codes, sent in x-amzn-query-error: CloudWatch is @awsQueryCompatible,
# and the Rust SDK matches its modeled errors on these codes, not on the shape names.
CW_QUERY_CODES = {
    "InvalidParameterValueException": "InvalidParameterValue",
    "InvalidParameterCombinationException": "InvalidParameterCombination",
    "MissingRequiredParameterException": "MissingParameter",
    "InvalidNextToken": "InvalidNextToken",
    "InternalServiceFault": "InternalServiceError",
    "UnknownOperationException": "InvalidAction",
}


class CloudWatchError(Exception):
    def __init__(self, shape: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.shape, self.message, self.status = shape, message, status


def _utc(value: Any, member: str) -> datetime.datetime:
    """A CBOR timestamp (tag 1, which cbor2 decodes to an aware datetime; a bare
    number is taken as epoch seconds too) as a naive UTC datetime, moto's convention."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).replace(tzinfo=None)
    raise CloudWatchError("InvalidParameterValueException", f"The parameter {member} must be a timestamp.")


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _epoch(dt: datetime.datetime) -> Any:
    """A naive UTC datetime as CBOR tag 1 with float epoch seconds, as AWS sends them."""
    import cbor2

    return cbor2.CBORTag(1, float(dt.replace(tzinfo=datetime.timezone.utc).timestamp()))


def _dimension_key(dimensions: Any) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((d.name, d.value) for d in dimensions))


def _cloudwatch_backend(account: str, region: str):
    from moto.cloudwatch.models import cloudwatch_backends

    try:
        return cloudwatch_backends[account][region]
    except KeyError:
        raise CloudWatchError("InvalidParameterValueException", f"unknown region {region!r}") from None


class CloudWatchCbor:
    """CloudWatch as the AWS SDK for Rust (aws-sdk-cloudwatch 1.140) calls it: the Smithy
    RPC v2 CBOR protocol, ``POST /service/GraniteServiceVersion20100801/operation/<Op>``,
    a CBOR map of the input members in, a CBOR map of the output members out, timestamps
    as tag 1 epoch seconds, errors as ``{"__type", "message"}`` with the query-compatible
    code in ``x-amzn-query-error``. moto 5.2.5 has no such protocol for CloudWatch.

    Data lives in moto's CloudWatch backend (``cloudwatch_backends[account][region]``,
    the list ``metric_data``), so ``/moto-api/reset`` clears it and boto3's query-protocol
    PutMetricData, answered by moto, feeds it too. moto's own synthesized S3 metrics
    (``S3Backend.get_cloudwatch_metrics``: every bucket of the account, in every region,
    today 00:00, the bytes moto actually stores, so 0 here) are left out: AWS publishes
    storage metrics once a day, only in the bucket's region, and none for an empty bucket.
    The scenario writes them through POST /_s3audit/storage-metrics (put_storage_metrics).

    Operations: ListMetrics (Namespace, MetricName, Dimensions filter where each listed
    dimension must be on the metric, with the value if one is given; only metrics with a
    datapoint in the past two weeks, or three hours with RecentlyActive, as AWS; pages of
    500 with a NextToken), GetMetricData (MetricStat queries only, matched on
    namespace, name and the exact set of dimensions, as AWS identifies a metric; start
    time rounded down as AWS does, periods counted from it, end time exclusive;
    SampleCount/Average/Sum/Minimum/Maximum and pNN; ScanBy; never paginates) and
    PutMetricData (moto's backend call). Every other operation is a 400 naming it. No IAM
    check is made on these calls."""

    OPERATIONS = ("ListMetrics", "GetMetricData", "PutMetricData")

    def __init__(self) -> None:
        self.lock = threading.Lock()

    # -- request plumbing --------------------------------------------------
    def handle(self, request: Request, account: str, region: str) -> Response:
        import cbor2

        operation = request.path[len(CBOR_PREFIX):] if request.path.startswith(CBOR_PREFIX) else ""
        try:
            if request.method != "POST" or not operation:
                raise CloudWatchError(
                    "UnknownOperationException",
                    f"{request.method} {request.path}: the Smithy RPC v2 CBOR protocol is "
                    f"POST {CBOR_PREFIX}<Operation>")
            if operation not in self.OPERATIONS:
                raise CloudWatchError(
                    "UnknownOperationException",
                    f"CloudWatch operation {operation} is not emulated by s3audit's launcher "
                    f"(only {', '.join(self.OPERATIONS)})")
            raw = request.get_data()
            if request.headers.get("Content-Encoding", "").lower() == "gzip":  # PutMetricData may be compressed
                import gzip

                raw = gzip.decompress(raw)
            try:
                body = cbor2.loads(raw) if raw else {}
            except Exception as e:  # noqa: BLE001 - any decoding failure is the client's
                raise CloudWatchError("InvalidParameterValueException", f"{operation}: the body is not CBOR: {e}") from None
            if not isinstance(body, dict):
                raise CloudWatchError("InvalidParameterValueException", f"{operation}: the body is not a CBOR map")
            backend = _cloudwatch_backend(account, region)
            with self.lock:
                if operation == "ListMetrics":
                    out = self.list_metrics(backend, body)
                elif operation == "GetMetricData":
                    out = self.get_metric_data(backend, body)
                else:
                    out = self.put_metric_data(backend, body)
            return self.cbor(out)
        except CloudWatchError as e:
            return self.error(e.shape, e.message, e.status)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            return self.error("InvalidParameterValueException", f"{operation}: malformed input ({type(e).__name__}: {e})", 400)

    @staticmethod
    def cbor(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
        import cbor2

        r = Response(cbor2.dumps(data), status=status, content_type="application/cbor")
        r.headers["smithy-protocol"] = "rpc-v2-cbor"
        r.headers["x-amzn-requestid"] = str(uuid.uuid4())
        for k, v in (headers or {}).items():
            r.headers[k] = v
        return r

    @classmethod
    def error(cls, shape: str, message: str, status: int) -> Response:
        query_code = CW_QUERY_CODES.get(shape, shape)
        sender = "Receiver" if status >= 500 else "Sender"
        return cls.cbor({"__type": shape, "message": message}, status,
                        {"x-amzn-query-error": f"{query_code};{sender}"})

    @staticmethod
    def stored(backend) -> list:
        """The datapoints put into the backend (not moto's synthesized S3 metrics)."""
        return list(backend.metric_data)

    # -- operations --------------------------------------------------------
    def list_metrics(self, backend, body: dict[str, Any]) -> dict[str, Any]:
        namespace, name = body.get("Namespace"), body.get("MetricName")
        wanted = [(d["Name"], d.get("Value")) for d in body.get("Dimensions") or []]
        recent = body.get("RecentlyActive")
        if recent not in (None, "PT3H"):
            raise CloudWatchError("InvalidParameterValueException", f"RecentlyActive must be PT3H, not {recent!r}")
        # AWS lists a metric only while it has had a datapoint in the past two weeks.
        since = _utcnow() - (datetime.timedelta(hours=3) if recent else datetime.timedelta(days=14))
        seen: dict[tuple, dict[str, Any]] = {}
        for md in self.stored(backend):
            if (namespace and md.namespace != namespace) or (name and md.name != name):
                continue
            if md.timestamp < since:
                continue
            have = {d.name: d.value for d in md.dimensions}
            if any(n not in have or (v is not None and have[n] != v) for n, v in wanted):
                continue
            key = (md.namespace, md.name, _dimension_key(md.dimensions))
            seen.setdefault(key, {"Namespace": md.namespace, "MetricName": md.name,
                                  "Dimensions": [{"Name": n, "Value": v} for n, v in key[2]]})
        metrics = [seen[k] for k in sorted(seen)]
        token = body.get("NextToken")
        start = 0
        if token is not None:
            if not (isinstance(token, str) and token.startswith("s3audit-") and token[8:].isdigit()):
                raise CloudWatchError("InvalidNextToken", "Request parameter NextToken is invalid")
            start = int(token[8:])
        out: dict[str, Any] = {"Metrics": metrics[start:start + CW_PAGE]}
        if start + CW_PAGE < len(metrics):
            out["NextToken"] = f"s3audit-{start + CW_PAGE}"
        return out

    @staticmethod
    def round_start(start: datetime.datetime, now: datetime.datetime) -> datetime.datetime:
        """AWS rounds StartTime down: to the minute if less than 15 days ago, to 5 minutes
        if less than 63 days ago, else to the hour."""
        start = start.replace(second=0, microsecond=0)
        age = now - start
        if age >= datetime.timedelta(days=63):
            return start.replace(minute=0)
        if age >= datetime.timedelta(days=15):
            return start.replace(minute=start.minute - start.minute % 5)
        return start

    @staticmethod
    def statistic(stat: str, points: list) -> float:
        values = [p.value for p in points if hasattr(p, "value")]
        aggregated = [p for p in points if not hasattr(p, "value")]
        count = len(values) + sum(float(a.sample_count) for a in aggregated)
        total = sum(values) + sum(float(a.sum) for a in aggregated)
        if stat == "SampleCount":
            return float(count)
        if stat == "Sum":
            return float(total)
        if stat == "Average":
            return float(total / count) if count else 0.0
        if stat == "Minimum":
            return float(min(values + [float(a.min) for a in aggregated]))
        if stat == "Maximum":
            return float(max(values + [float(a.max) for a in aggregated]))
        m = re.fullmatch(r"p(\d{1,2}(?:\.\d+)?|100)", stat)
        if m and values:
            ranked = sorted(values)
            rank = max(1, -(-float(m.group(1)) * len(ranked) // 100))  # nearest rank
            return float(ranked[int(rank) - 1])
        raise CloudWatchError("InvalidParameterValueException",
                              f"The statistic {stat} is not emulated (only {', '.join(CW_STATS)}, pNN)")

    def get_metric_data(self, backend, body: dict[str, Any]) -> dict[str, Any]:
        queries = body.get("MetricDataQueries")
        for member in ("MetricDataQueries", "StartTime", "EndTime"):
            if body.get(member) is None:
                raise CloudWatchError("InvalidParameterValueException", f"The parameter {member} is required.")
        if not isinstance(queries, list) or not 1 <= len(queries) <= CW_MAX_QUERIES:
            raise CloudWatchError("InvalidParameterValueException",
                                  f"MetricDataQueries must hold 1 to {CW_MAX_QUERIES} queries.")
        if body.get("NextToken") is not None:
            raise CloudWatchError("InvalidNextToken", "the emulator never hands out a GetMetricData NextToken")
        now = _utcnow()
        start = self.round_start(_utc(body["StartTime"], "StartTime"), now)
        end = _utc(body["EndTime"], "EndTime")
        if start >= end:
            raise CloudWatchError("InvalidParameterValueException", "The parameter StartTime must be less than the parameter EndTime.")
        scan_by = body.get("ScanBy") or "TimestampDescending"
        if scan_by not in ("TimestampDescending", "TimestampAscending"):
            raise CloudWatchError("InvalidParameterValueException", f"ScanBy must be TimestampDescending or TimestampAscending, not {scan_by!r}")
        ids = [q.get("Id") for q in queries]
        for qid in ids:
            if not isinstance(qid, str) or not re.fullmatch(r"[a-z][a-zA-Z0-9_]{0,254}", qid):
                raise CloudWatchError("InvalidParameterValueException",
                                      f"The value {qid!r} for parameter MetricDataQueries.member.Id is invalid: it must "
                                      "start with a lowercase letter and hold only letters, digits and underscores.")
        if len(set(ids)) != len(ids):
            raise CloudWatchError("InvalidParameterValueException", "The values of MetricDataQueries.member.Id must be unique.")
        in_range = [md for md in self.stored(backend) if start <= md.timestamp < end]
        results = []
        for q in queries:
            stat_q = q.get("MetricStat")
            if stat_q is None:
                raise CloudWatchError("InvalidParameterValueException",
                                      f"query {q['Id']}: only MetricStat queries are emulated (no Expression)")
            metric = stat_q["Metric"]
            period, stat, unit = int(stat_q["Period"]), stat_q["Stat"], stat_q.get("Unit")
            if period < 1 or (period >= 60 and period % 60) or (period < 60 and period not in (1, 5, 10, 20, 30)):
                raise CloudWatchError("InvalidParameterValueException",
                                      f"query {q['Id']}: the Period must be 1, 5, 10, 20, 30 or a multiple of 60, not {period}")
            key = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions") or []))
            buckets: dict[int, list] = {}
            for md in in_range:
                if (md.namespace == metric.get("Namespace") and md.name == metric.get("MetricName")
                        and _dimension_key(md.dimensions) == key and (unit is None or md.unit == unit)):
                    buckets.setdefault(int((md.timestamp - start).total_seconds()) // period, []).append(md)
            order = sorted(buckets, reverse=scan_by == "TimestampDescending")
            if q.get("ReturnData", True) is False:
                continue
            results.append({
                "Id": q["Id"],
                "Label": q.get("Label") or metric.get("MetricName", ""),
                "Timestamps": [_epoch(start + datetime.timedelta(seconds=i * period)) for i in order],
                "Values": [self.statistic(stat, buckets[i]) for i in order],
                "StatusCode": "Complete",
            })
        return {"MetricDataResults": results, "Messages": []}

    def put_metric_data(self, backend, body: dict[str, Any]) -> dict[str, Any]:
        namespace, data = body.get("Namespace"), body.get("MetricData")
        if not namespace or not isinstance(data, list) or not data:
            raise CloudWatchError("MissingRequiredParameterException", "Namespace and MetricData are required.")
        if len(data) > CW_MAX_QUERIES:
            raise CloudWatchError("InvalidParameterValueException", f"MetricData holds at most {CW_MAX_QUERIES} datums.")
        datums = []
        for d in data:
            d = dict(d)
            if d.get("Timestamp") is not None:
                d["Timestamp"] = _utc(d["Timestamp"], "Timestamp")
            datums.append(d)
        from moto.core.exceptions import ServiceException

        try:
            backend.put_metric_data(namespace, datums)
        except ServiceException as e:
            shape = {"InvalidParameterValue": "InvalidParameterValueException",
                     "InvalidParameterCombination": "InvalidParameterCombinationException"}.get(e.code, e.code)
            raise CloudWatchError(shape, str(e.message)) from None
        return {}


def put_storage_metrics(spec: dict[str, Any], lock: threading.Lock) -> Response:
    """/_s3audit/storage-metrics: {"account", "region", "bucket", "bytes": {StorageType:
    bytes, ...}, "objects" (optional), "day" (optional, YYYY-MM-DD; default yesterday)}
    writes a bucket's daily storage metrics into moto's CloudWatch backend of that
    account and region, as S3 publishes them: namespace AWS/S3, BucketSizeBytes (unit
    Bytes) per StorageType, NumberOfObjects (unit Count) with StorageType=AllStorageTypes,
    one datapoint at 00:00 UTC of the day. Metrics already there for that bucket and day
    are replaced. The bucket is not checked: CloudWatch keeps a deleted bucket's metrics."""
    from moto.cloudwatch.models import MetricDatum

    def bad(message: str) -> Response:
        return Response(message, status=400)

    try:
        account, region, bucket = spec["account"], spec["region"], spec["bucket"]
        sizes = spec.get("bytes") or {}
        objects = spec.get("objects")
        day = spec.get("day")
    except (KeyError, TypeError) as e:
        return bad(f"missing {e}")
    if not isinstance(sizes, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in sizes.values()):
        return bad('"bytes" maps storage types to byte counts (integers >= 0)')
    if objects is not None and (not isinstance(objects, int) or isinstance(objects, bool) or objects < 0):
        return bad('"objects" is an integer >= 0')
    if day is None:
        midnight = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        stamp = (midnight - datetime.timedelta(days=1)).replace(tzinfo=None)
    else:
        try:
            stamp = datetime.datetime.strptime(day, "%Y-%m-%d")
        except (TypeError, ValueError):
            return bad('"day" is YYYY-MM-DD')
    try:
        backend = _cloudwatch_backend(account, region)
    except CloudWatchError as e:
        return bad(e.message)
    points = [MetricDatum(S3_NAMESPACE, "BucketSizeBytes", float(size),
                          [{"Name": "BucketName", "Value": bucket}, {"Name": "StorageType", "Value": storage_type}],
                          stamp, "Bytes")
              for storage_type, size in sorted(sizes.items())]
    if objects is not None:
        points.append(MetricDatum(S3_NAMESPACE, "NumberOfObjects", float(objects),
                                  [{"Name": "BucketName", "Value": bucket}, {"Name": "StorageType", "Value": "AllStorageTypes"}],
                                  stamp, "Count"))
    with lock:
        backend.metric_data[:] = [
            md for md in backend.metric_data
            if not (md.namespace == S3_NAMESPACE and md.timestamp == stamp
                    and any(d.name == "BucketName" and d.value == bucket for d in md.dimensions))]
        backend.metric_data.extend(points)
    return Response(json.dumps({"bucket": bucket, "day": stamp.strftime("%Y-%m-%d"), "datapoints": len(points)}),
                    mimetype="application/json")


# ---------------------------------------------------------------------------
# The WSGI app: our routes in front of moto's dispatcher
# ---------------------------------------------------------------------------

CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


# ---------------------------------------------------------------------------
# Patch f: directory buckets (S3 Express One Zone)
# ---------------------------------------------------------------------------

DIRECTORY_SUFFIX = "--x-s3"


def patch_directory_buckets() -> None:
    """AWS keeps directory buckets (names ending in ``--x-s3``) apart from
    general-purpose buckets: ``ListBuckets`` never lists them, and
    ``ListDirectoryBuckets`` (``GET /?x-id=ListDirectoryBuckets`` on the
    regional S3 Express control endpoint) lists the caller's directory buckets
    in the region of the request, under <ListAllMyDirectoryBucketsResult>.
    moto 5.2.5 has no directory buckets: it answered ListDirectoryBuckets with
    every general-purpose bucket. Here a moto bucket whose name ends in
    ``--x-s3`` is a directory bucket (the launcher's
    /_s3audit/directory-buckets creates them, since boto3 sends their
    creation to a zonal endpoint), and both listings answer as AWS does. Their
    policy, encryption and lifecycle calls are moto's bucket calls, path-style;
    AWS gives every directory bucket SSE-S3 default encryption, and so does
    moto's default."""
    from moto.s3.responses import S3Response

    all_buckets_orig = S3Response.all_buckets

    def all_buckets(self):
        if self.querystring.get("x-id", [""])[0] != "ListDirectoryBuckets":
            status, headers, body = all_buckets_orig(self)
            # Leave the directory buckets out of ListBuckets.
            body = re.sub(
                r"<Bucket><Name>[^<]*" + re.escape(DIRECTORY_SUFFIX) + r"</Name>.*?</Bucket>",
                "",
                body if isinstance(body, str) else body.decode("utf-8"),
                flags=re.S,
            )
            return status, headers, body
        self._authenticate_and_authorize_s3_action()
        # The region asked is the SigV4 credential scope's (every region shares one URL).
        scope = CREDENTIAL.search(self.headers.get("Authorization", ""))
        region = scope.group(2) if scope else self.region
        root = ET.Element("ListAllMyDirectoryBucketsResult", xmlns=S3_NS)
        buckets = ET.SubElement(root, "Buckets")
        for bucket in sorted(self.backend.buckets.values(), key=lambda b: b.name):
            if bucket.name.endswith(DIRECTORY_SUFFIX) and bucket.region_name == region:
                entry = ET.SubElement(buckets, "Bucket")
                ET.SubElement(entry, "Name").text = bucket.name
                ET.SubElement(entry, "CreationDate").text = bucket.creation_date_ISO8601
                ET.SubElement(entry, "BucketRegion").text = bucket.region_name
        return 200, {"Content-Type": "application/xml"}, ET.tostring(root, encoding="unicode")

    S3Response.all_buckets = all_buckets


def create_directory_bucket(spec: dict[str, Any]) -> Response:
    """/_s3audit/directory-buckets: {"account", "name", "region", "lifecycle"}
    creates a directory bucket in moto's backend, with an expiration and
    abort-multipart lifecycle rule when "lifecycle" is true."""
    from moto.s3.models import s3_backends

    backend = s3_backends[spec["account"]]["aws"]
    if not spec["name"].endswith(DIRECTORY_SUFFIX):
        return Response("a directory bucket name ends in --x-s3", status=400)
    backend.create_bucket(spec["name"], spec["region"])
    if spec.get("lifecycle"):
        backend.put_bucket_lifecycle(spec["name"], [{
            "ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""},
            "Expiration": {"Days": 7}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}])
    return Response(json.dumps({"name": spec["name"]}), mimetype="application/json")


class LauncherApp:
    """Requests signed for service `access-analyzer` (the SigV4 credential
    scope is the only thing that tells services apart when every SDK client
    shares one endpoint URL), CloudWatch's Smithy RPC v2 CBOR requests
    (`monitoring`, POST /service/GraniteServiceVersion20100801/operation/...)
    and the launcher's /_s3audit/ paths are answered here; everything else
    goes to moto."""

    def __init__(self, moto_app: Callable, analyzer: AccessAnalyzer) -> None:
        self.moto_app = moto_app
        self.analyzer = analyzer
        self.cloudwatch = CloudWatchCbor()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
            self.analyzer.reset()  # keep our state in step with moto's reset
        if path == "/_s3audit/directory-buckets":
            request = Request(environ)
            return create_directory_bucket(request.get_json(force=True))(environ, start_response)
        if path == "/_s3audit/access-analyzer/findings":
            request = Request(environ)
            return self.analyzer.add_finding(request.get_json(force=True))(environ, start_response)
        if path == "/_s3audit/storage-metrics":
            request = Request(environ)
            return put_storage_metrics(request.get_json(force=True), self.cloudwatch.lock)(environ, start_response)
        scope = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope.group(3) if scope else None
        # CloudWatch over RPC v2 CBOR: signed for `monitoring`, on the /service/ path. The
        # query and JSON protocols (boto3) are signed for `monitoring` too and go to moto.
        cbor_call = path.startswith("/service/") and service in ("monitoring", None)
        if service == "access-analyzer" or cbor_call:
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.iam.models import get_account_id_from

            request = Request(environ)
            account = request.headers.get("x-moto-account-id") or (
                get_account_id_from(scope.group(1)) if scope else DEFAULT_ACCOUNT_ID)
            region = scope.group(2) if scope else "us-east-1"
            handler = self.cloudwatch.handle if cbor_call else self.analyzer.handle
            return handler(request, account, region)(environ, start_response)
        return self.moto_app(environ, start_response)


def apply_patches() -> None:
    patch_xml_roots()
    patch_access_point_policy_status()
    patch_s3_bucket_subresources()
    patch_sts_assume_role()
    patch_macie_timestamps()
    patch_directory_buckets()


def stdin_is_pipe() -> bool:
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0 = a free port chosen by the OS")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--no-patches", action="store_true", help="plain moto (to compare)")
    args = parser.parse_args()

    check_moto_version()
    try:
        import cbor2  # noqa: F401 - CloudWatchCbor needs it; say so now, not at the first call
    except ImportError:
        sys.exit("server.py: cbor2 missing; run scripts/emulator-setup")
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if not args.no_patches:
        apply_patches()

    moto_app = DomainDispatcherApplication(create_backend_app)
    app = LauncherApp(moto_app, AccessAnalyzer()) if not args.no_patches else moto_app
    # make_server binds and listens before returning, so READY is true as soon
    # as it is printed. threaded=True: one thread per connection, as moto's
    # own ThreadedMotoServer does.
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler)
    stop = threading.Event()

    def request_stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if stdin_is_pipe():
        threading.Thread(target=lambda: (sys.stdin.buffer.read(), stop.set()), daemon=True).start()

    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"READY http://127.0.0.1:{server.server_port}", flush=True)
    while not stop.wait(0.5):  # a timed wait lets signal handlers run promptly
        pass
    server.shutdown()
    # Exit at once: the daemon thread blocked reading stdin would otherwise make the
    # interpreter's shutdown abort with "could not acquire lock for <stdin>".
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
