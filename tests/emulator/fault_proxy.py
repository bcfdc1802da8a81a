#!/usr/bin/env python3
"""A fault-injecting HTTP proxy to put between s3audit and the emulator.

    python tests/emulator/fault_proxy.py --upstream http://127.0.0.1:NNNN [--port 0] [--verbose]

Binds 127.0.0.1 only. With --port 0 (the default) the OS picks a free port.
Prints exactly one line, ``READY http://127.0.0.1:<port>``, on stdout once the
socket accepts connections. Exits on SIGTERM/SIGINT, and also when stdin
reaches end-of-file *if stdin is a pipe* (the same convention as server.py,
so a test harness that dies cannot leave it behind).

Why: moto answers every call or none. The end-to-end tests need to show what
the crawl does when *one* call fails for *one* resource (GetBucketPolicy on
one bucket denied, GetBucketLocation timing out, a connection reset in the
middle of a crawl): the finding must become "unknown" for that bucket only,
the rest of the report must be unaffected. This proxy forwards everything to
the upstream unchanged (method, path and query, headers including Host and
the SigV4 Authorization, so signatures still verify; body) and fails only the
requests a rule matches.

Control API, on the same port (not forwarded):

    PUT    /__faults   body: [rule, ...] or {"rules": [rule, ...]}; replaces
                       the rules and zeroes the hit counts
    GET    /__faults   -> {"rules": [rule, ...], "hits": [n, ...]}
    DELETE /__faults   clears rules and hits

Each answers with the state as GET does. hits[i] counts the requests rule i
faulted. A rule:

    {"bucket": "b1",           first path segment (path-style S3)
     "query": "location",      S3 subresource key present in the query
                               (?location and ?location= both count)
     "method": "GET",
     "target": "...",          X-Amz-Target header (JSON services)
     "path_contains": "...",   substring of the path (e.g. /v20180820/accesspoint)
     "fault": "denied" | "error" | "timeout" | "reset",
     "times": null | n}        fault n requests, then pass through (null: always)

Every field but "fault" is optional; all given fields must match. The first
matching rule with budget left applies. Faults: denied = 403 AccessDenied,
error = 500 InternalError (the SDK retries it, and each retry hits the rule
again while "times" allows), both as S3's XML error, or for a request with
X-Amz-Target as a JSON error (AccessDeniedException, InternalFailure), or for
a Smithy RPC v2 CBOR request (CloudWatch; match it with "path_contains":
"/operation/GetMetricData") as a CBOR error with x-amzn-query-error
AccessDenied;Sender or InternalFailure;Receiver;
timeout = no answer for 30 s or until the client hangs up; reset = the socket
is closed with a TCP RST and no answer.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import select
import signal
import socket
import stat
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CONTROL_PATH = "/__faults"
FAULTS = {"denied", "error", "timeout", "reset"}
MATCH_FIELDS = {"bucket", "query", "method", "target", "path_contains"}
HOLD_SECONDS = 30
ERRORS = {
    "denied": (403, "AccessDenied", "Access Denied (injected)"),
    "error": (500, "InternalError", "We encountered an internal error (injected)"),
}
# Hop-by-hop headers are between one client and one server, never forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "expect"}


class Rules:
    """The rules and their hit counts; one lock, because ~64 requests are in flight."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: list[dict[str, Any]] = []
        self.hits: list[int] = []

    def replace(self, rules: list[dict[str, Any]]) -> None:
        with self.lock:
            self.rules, self.hits = rules, [0] * len(rules)

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {"rules": list(self.rules), "hits": list(self.hits)}

    def take(self, request: dict[str, Any]) -> str | None:
        """The fault for this request, counting it, or None to forward it.
        Check and count under the lock, so "times": 1 faults exactly one request."""
        with self.lock:
            for i, rule in enumerate(self.rules):
                if rule.get("times") is not None and self.hits[i] >= rule["times"]:
                    continue
                if matches(rule, request):
                    self.hits[i] += 1
                    return rule["fault"]
        return None


def validate(body: Any) -> list[dict[str, Any]]:
    """Refuse unknown fields and values: a misspelt rule would silently never match."""
    rules = body.get("rules") if isinstance(body, dict) else body
    if not isinstance(rules, list):
        raise ValueError('expected [rule, ...] or {"rules": [rule, ...]}')
    for rule in rules:
        if not isinstance(rule, dict):
            raise ValueError(f"a rule must be an object: {rule!r}")
        unknown = set(rule) - MATCH_FIELDS - {"fault", "times"}
        if unknown:
            raise ValueError(f"unknown rule fields {sorted(unknown)}")
        if rule.get("fault") not in FAULTS:
            raise ValueError(f"fault must be one of {sorted(FAULTS)}: {rule!r}")
        times = rule.get("times")
        if times is not None and (type(times) is not int or times < 0):
            raise ValueError(f"times must be null or an integer >= 0: {rule!r}")
        if any(not isinstance(rule[f], str) for f in MATCH_FIELDS & set(rule)):
            raise ValueError(f"match fields must be strings: {rule!r}")
    return rules


def describe(method: str, target: str, headers) -> dict[str, Any]:
    """What rules match on. S3 subresources arrive as ?location or ?location=;
    parse_qs with keep_blank_values sees both, and keys only, so ?list-type=2
    is never mistaken for ?location."""
    url = urlsplit(target)
    return {
        "method": method,
        "path": url.path,
        "bucket": unquote(url.path.lstrip("/").split("/", 1)[0]),
        "query": parse_qs(url.query, keep_blank_values=True),
        "target": headers.get("X-Amz-Target"),
    }


def matches(rule: dict[str, Any], req: dict[str, Any]) -> bool:
    return (
        ("bucket" not in rule or rule["bucket"] == req["bucket"])
        and ("query" not in rule or rule["query"] in req["query"])
        and ("method" not in rule or rule["method"].upper() == req["method"])
        and ("target" not in rule or rule["target"] == req["target"])
        and ("path_contains" not in rule or rule["path_contains"] in req["path"])
    )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # so "Connection: close" means what it says
    timeout = 120  # an idle client connection must not hold a thread forever
    rules: Rules
    upstream: tuple[str, int]
    verbose = False

    def do_request(self) -> None:
        self.close_connection = True  # one request per connection, like moto
        raw, payload = self.read_body()  # before any answer: unread data makes close() send RST
        if urlsplit(self.path).path == CONTROL_PATH:
            return self.control(payload)
        fault = self.rules.take(describe(self.command, self.path, self.headers))
        if fault and self.verbose:
            sys.stderr.write(f"fault_proxy: {fault}: {self.command} {self.path}\n")
        if fault in ERRORS:
            self.inject_error(fault)
        elif fault == "timeout":
            self.hold()
        elif fault == "reset":
            # SO_LINGER (on, 0 s): close() sends RST instead of FIN. rfile holds a
            # reference to the socket, and the fd only closes once it is gone.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        else:
            self.forward(raw)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_request

    def inject_error(self, fault: str) -> None:
        status, code, message = ERRORS[fault]
        if self.headers.get("smithy-protocol") == "rpc-v2-cbor":
            # Smithy RPC v2 CBOR (CloudWatch): a CBOR error map, and the query-compatible
            # code in x-amzn-query-error, which the Rust SDK reads as the error code.
            import cbor2

            shape = {"AccessDenied": "AccessDeniedException", "InternalError": "InternalFailure"}[code]
            query = {"AccessDenied": "AccessDenied;Sender", "InternalError": "InternalFailure;Receiver"}[code]
            body_bytes = cbor2.dumps({"__type": shape, "message": message})
            headers = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                       ("x-amzn-query-error", query), ("x-amzn-RequestId", "fault")]
            return self.answer(status, headers, body_bytes)
        if "X-Amz-Target" in self.headers:
            # JSON-protocol services (Organizations, ...) cannot parse an XML
            # error: answer in their format, with their usual error names.
            code = {"AccessDenied": "AccessDeniedException", "InternalError": "InternalFailure"}[code]
            kind = self.headers.get("Content-Type", "application/x-amz-json-1.1")
            body = json.dumps({"__type": code, "message": message})
            headers = [("Content-Type", kind), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", "fault")]
        else:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault</RequestId></Error>"
            )
            headers = [("Content-Type", "application/xml")]
        self.answer(status, headers, body.encode())

    def read_body(self) -> tuple[bytes, bytes]:
        """(bytes as sent, payload). A chunked body is forwarded with its framing
        (aws-chunked signing covers it) but the control API wants the payload."""
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return body, body
        raw, payload = b"", b""
        while True:
            line = self.rfile.readline()
            raw += line
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                break
            chunk = self.rfile.read(size + 2)  # data and its CRLF
            raw, payload = raw + chunk, payload + chunk[:size]
        while line not in (b"\r\n", b"\n", b""):  # trailers, up to the empty line
            line = self.rfile.readline()
            raw += line
        return raw, payload

    def forward(self, body: bytes) -> None:
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            # skip_host: Host goes upstream as received, since SigV4 signed it.
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.putheader("Connection", "close")
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()  # http.client has removed any chunked framing
            headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP | {"transfer-encoding"}]
            self.answer(resp.status, headers, data, resp.reason)
        except (OSError, http.client.HTTPException) as e:
            self.answer(502, [("Content-Type", "text/plain")], f"fault_proxy: upstream: {e}\n".encode())
        finally:
            conn.close()

    def control(self, body: bytes) -> None:
        try:
            if self.command == "PUT":
                self.rules.replace(validate(json.loads(body or b"null")))
            elif self.command == "DELETE":
                self.rules.replace([])
            elif self.command != "GET":
                return self.answer(405, [("Allow", "GET, PUT, DELETE")], b"")
        except ValueError as e:  # json.JSONDecodeError is a ValueError
            return self.answer(400, [("Content-Type", "text/plain")], f"{e}\n".encode())
        out = json.dumps(self.rules.state()).encode()
        self.answer(200, [("Content-Type", "application/json")], out)

    def answer(self, status: int, headers: list[tuple[str, str]], body: bytes, reason: str | None = None) -> None:
        # send_response_only: no Server/Date of our own next to the upstream's.
        self.send_response_only(status, reason)
        if not any(k.lower() == "content-length" for k, _ in headers):
            headers = headers + [("Content-Length", str(len(body)))]
        for name, value in headers + [("Connection", "close")]:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def hold(self) -> None:
        """Answer nothing for HOLD_SECONDS, but stop early if the client hangs up
        (its read timeout fired): the thread should not outlive the test's interest."""
        deadline = time.monotonic() + HOLD_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.connection], [], [], min(left, 1.0))
            if readable:
                try:
                    if not self.connection.recv(4096):
                        return  # EOF: the client closed
                except OSError:
                    return  # reset by the client

    def log_message(self, format: str, *args: Any) -> None:
        if self.verbose:
            super().log_message(format, *args)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the crawl keeps ~64 requests in flight


def stdin_is_pipe() -> bool:
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:41234 (server.py's READY url)")
    parser.add_argument("--port", type=int, default=0, help="0 = a free port chosen by the OS")
    parser.add_argument("--verbose", action="store_true", help="log every request and fault to stderr")
    args = parser.parse_args()

    upstream = urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname or not upstream.port:
        sys.exit(f"fault_proxy.py: --upstream must be http://HOST:PORT, got {args.upstream!r}")
    Handler.rules = Rules()
    Handler.upstream = (upstream.hostname, upstream.port)
    Handler.verbose = args.verbose

    # The constructor binds and listens, so READY is true as soon as it is printed.
    server = Server(("127.0.0.1", args.port), Handler)
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
    # As in server.py: exit at once, past the daemon thread blocked reading stdin
    # (and any request held by a timeout fault).
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
