#!/usr/bin/env python3
"""A scriptable HTTP fault proxy for the fault-injection suite (stdlib only).

It sits between a client (the vsync core, a binding, the CLI) and the real S3-compatible test
server, forwards every request unchanged (the Host header included, so SigV4 signatures stay
valid), and applies the first matching rule's fault to the exchange. It counts every request it
sees, so a test can assert exactly how many requests a failure cost.

Usage:
    faultproxy.py --upstream 127.0.0.1:PORT [--rules JSON] [--seed N]
                  [--tls-cert PEM --tls-key PEM]

On start it prints one line, `FAULTPROXY port=<p> control=<c>`, and flushes. It exits when its
stdin reaches end-of-file (the test that started it went away) or on SIGTERM/SIGINT.

Rules (JSON list; the first rule that matches a request and still has budget applies):
    {"method": "GET", "path": "manifest$", "skip": 0, "times": 1, "probability": 1.0,
     "action": {"kind": "status", "status": 503, "code": "SlowDown"}}
  method       HTTP method, or absent for any
  path         a regular expression searched in the request path (query excluded)
  skip         let this many matching requests pass before the rule applies
  times        apply at most this many times (absent: no limit)
  probability  apply to this share of matching requests (seeded RNG, --seed)

Actions ("kind"):
  pass            forward unchanged (a rule that only shields a request from later rules)
  hang            read the request, never answer (until the client goes away)
  delay           wait "seconds", then forward normally
  slow_headers    forward, then wait "seconds" before sending the response
  slow_body       send the headers, then the body in "chunk" bytes every "interval" seconds
  reset_before    reset the connection (RST) without answering
  reset_mid_body  send the headers and half the body, then reset
  truncate        send the headers (full Content-Length) and half the body, then close (FIN)
  status          answer "status" with an S3 error document ("code", "message"); not forwarded
  redirect        answer "status" (default 301) with a Location to "location"; not forwarded
  huge_body       forward, then replace the body with "bytes" bytes (declared in Content-Length,
                  or sent chunked without a length when "chunked" is true)
  withhold_reply  forward the request, let the server act on it, then close without answering
                  ("rst": true resets instead): the reply is lost, the effect is not
  ignore_preconditions
                  forward; a 412 Precondition Failed answer becomes 200 OK: a store that ignores
                  If-None-Match / If-Match, as far as the client can tell
Any action may carry "then": <action>: once it has applied, every later request on any
connection gets <action> (a partition right after a write, say).

Control API (HTTP on the control port, JSON bodies):
  GET  /stats   {"requests": [{"method", "path", "action"}...] in arrival order,
                 "connections": accepted connections (TLS: before the handshake)}
  PUT  /rules   replace the rules (hit counters restart)
  POST /reset   forget the recorded requests
"""

import argparse
import asyncio
import json
import random
import re
import signal
import socket
import ssl
import struct
import sys
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024


class Rule:
    def __init__(self, spec):
        self.method = spec.get("method")
        self.path = re.compile(spec["path"]) if spec.get("path") else None
        self.skip = int(spec.get("skip", 0))
        self.times = spec.get("times")
        self.probability = float(spec.get("probability", 1.0))
        self.action = spec.get("action", {"kind": "pass"})
        self.seen = 0
        self.applied = 0

    def take(self, method, path, rng):
        if self.method and self.method != method:
            return False
        if self.path and not self.path.search(path):
            return False
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times is not None and self.applied >= int(self.times):
            return False
        if self.probability < 1.0 and rng.random() >= self.probability:
            return False
        self.applied += 1
        return True


class Proxy:
    def __init__(self, upstream, rules, seed):
        host, _, port = upstream.rpartition(":")
        self.upstream = (host or "127.0.0.1", int(port))
        self.rng = random.Random(seed)
        self.rules = [Rule(r) for r in rules]
        self.requests = []
        self.connections = 0
        self.sticky = None
        self.open_writers = set()
        self.tls = None

    def choose(self, method, path):
        if self.sticky is not None:
            return self.sticky
        for rule in self.rules:
            if rule.take(method, path, self.rng):
                if "then" in rule.action:
                    self.sticky = rule.action["then"]
                return rule.action
        return {"kind": "pass"}

    # -- the proxied side -------------------------------------------------------------------

    async def handle(self, reader, writer):
        self.connections += 1
        self.open_writers.add(writer)
        try:
            if self.tls is not None:
                # TLS after the count, so a refused handshake is still one connection.
                await writer.start_tls(self.tls)
            while True:
                request = await read_message(reader, is_request=True)
                if request is None:
                    return
                method, target = request["start"].split(" ")[:2]
                path = urlsplit(target).path
                action = self.choose(method, path)
                self.requests.append({"method": method, "path": path, "action": action["kind"]})
                keep_open = await self.apply(action, method, request, reader, writer)
                if not keep_open or header(request, "connection") == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            return
        finally:
            self.open_writers.discard(writer)
            if not writer.is_closing():
                writer.close()

    async def apply(self, action, method, request, reader, writer):
        """Answer one request; returns whether the client connection stays usable."""
        kind = action["kind"]
        if kind == "hang":
            # Until the client gives up (EOF) or the proxy stops.
            while await reader.read(65536):
                pass
            return False
        if kind == "reset_before":
            reset(writer)
            return False
        if kind == "status":
            await send(writer, error_response(action, method))
            return True
        if kind == "redirect":
            status = int(action.get("status", 301))
            location = action.get("location", "http://127.0.0.1:9/")
            body = s3_error_xml("PermanentRedirect", "The bucket is in another region", location)
            resp = response(status, [("Location", location), ("Content-Type", "application/xml")], body, method)
            await send(writer, resp)
            return True
        if kind == "delay":
            await asyncio.sleep(float(action.get("seconds", 1)))
        upstream = await self.forward(request)
        if kind == "ignore_preconditions" and upstream["start"].split(" ")[1] == "412":
            etag = '"00000000000000000000000000000000"'
            upstream = {"start": "HTTP/1.1 200 OK", "headers": [("ETag", etag)], "body": b""}
        if kind == "withhold_reply":
            if action.get("rst"):
                reset(writer)
            else:
                writer.close()
            return False
        if kind == "slow_headers":
            await asyncio.sleep(float(action.get("seconds", 5)))
        if kind == "huge_body":
            return await send_huge(writer, upstream, method, action)
        head = serialize_head(upstream, len(upstream["body"]))
        body = upstream["body"]
        if kind == "slow_body":
            writer.write(head)
            await writer.drain()
            chunk, interval = int(action.get("chunk", 1)), float(action.get("interval", 1))
            for i in range(0, len(body), chunk):
                writer.write(body[i : i + chunk])
                await writer.drain()
                await asyncio.sleep(interval)
            return True
        if kind in ("reset_mid_body", "truncate"):
            writer.write(head + body[: len(body) // 2])
            await writer.drain()
            if kind == "reset_mid_body":
                reset(writer)
            else:
                writer.close()
            return False
        await send(writer, head + body)
        return True

    async def forward(self, request):
        reader, writer = await asyncio.open_connection(*self.upstream)
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            headers = [(k, v) for k, v in request["headers"] if k.lower() not in ("connection", "keep-alive")]
            headers.append(("Connection", "close"))
            writer.write(serialize(request["start"], headers, request["body"]))
            await writer.drain()
            method = request["start"].split(" ")[0]
            resp = await read_message(reader, is_request=False, head_request=(method == "HEAD"))
            if resp is None:
                raise ConnectionError("the upstream server closed without answering")
            return resp
        finally:
            writer.close()

    # -- the control side -------------------------------------------------------------------

    async def control(self, reader, writer):
        try:
            request = await read_message(reader, is_request=True)
            if request is None:
                return
            method, target = request["start"].split(" ")[:2]
            status, payload = 200, {"ok": True}
            if method == "GET" and target == "/stats":
                payload = {"requests": self.requests, "connections": self.connections}
            elif method == "PUT" and target == "/rules":
                self.rules = [Rule(r) for r in json.loads(request["body"] or b"[]")]
                self.sticky = None
            elif method == "POST" and target == "/reset":
                self.requests = []
                self.connections = 0
            else:
                status, payload = 404, {"error": f"no such control endpoint: {method} {target}"}
            body = json.dumps(payload).encode()
            writer.write(response(status, [("Content-Type", "application/json")], body, method, close=True))
            await writer.drain()
        except (ConnectionError, ValueError):
            pass
        finally:
            writer.close()


# -- HTTP/1.1 plumbing (just what S3 clients and servers use) --------------------------------


def header(message, name):
    for k, v in message["headers"]:
        if k.lower() == name:
            return v.strip().lower()
    return None


async def read_message(reader, is_request, head_request=False):
    """One request or response: start line, headers, body (Content-Length, chunked or to EOF)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise
    except asyncio.LimitOverrunError:
        raise ConnectionError("header section too large") from None
    if len(head) > MAX_HEAD:
        raise ConnectionError("header section too large")
    lines = head.decode("latin-1").split("\r\n")
    start, headers = lines[0], []
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
    msg = {"start": start, "headers": headers, "body": b""}
    status = None if is_request else int(start.split(" ")[1])
    if head_request or status in (204, 304) or (status is not None and 100 <= status < 200):
        return msg
    if header(msg, "transfer-encoding") == "chunked":
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        msg["body"] = bytes(body)
        msg["headers"] = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
    elif header(msg, "content-length") is not None:
        msg["body"] = await reader.readexactly(int(header(msg, "content-length")))
    elif not is_request:
        msg["body"] = await reader.read()
    return msg


def serialize(start, headers, body):
    """A request as sent upstream; a body decoded from chunked encoding gets its length back."""
    if body and not any(k.lower() == "content-length" for k, _ in headers):
        headers = list(headers) + [("Content-Length", str(len(body)))]
    return ("\r\n".join([start] + [f"{k}: {v}" for k, v in headers]) + "\r\n\r\n").encode("latin-1") + body


def serialize_head(resp, length, chunked=False):
    drop = ("content-length", "transfer-encoding", "connection", "keep-alive")
    headers = [(k, v) for k, v in resp["headers"] if k.lower() not in drop]
    if chunked:
        headers.append(("Transfer-Encoding", "chunked"))
    elif not resp["start"].split(" ")[1].startswith(("1", "204", "304")):
        headers.append(("Content-Length", str(length)))
    return ("\r\n".join([resp["start"]] + [f"{k}: {v}" for k, v in headers]) + "\r\n\r\n").encode("latin-1")


def response(status, headers, body, method, close=False):
    reason = {200: "OK", 301: "Moved Permanently", 307: "Temporary Redirect", 403: "Forbidden", 404: "Not Found"}
    reason.update({412: "Precondition Failed", 500: "Internal Server Error", 503: "Slow Down"})
    start = f"HTTP/1.1 {status} {reason.get(status, 'Status')}"
    headers = list(headers) + [("Content-Length", str(len(body)))]
    if close:
        headers.append(("Connection", "close"))
    head = ("\r\n".join([start] + [f"{k}: {v}" for k, v in headers]) + "\r\n\r\n").encode("latin-1")
    return head if method == "HEAD" else head + body


def s3_error_xml(code, message, endpoint=None):
    extra = f"<Endpoint>{endpoint}</Endpoint>" if endpoint else ""
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
    return (xml + f"{extra}<RequestId>faultproxy</RequestId></Error>").encode()


def error_response(action, method):
    status = int(action.get("status", 500))
    code = action.get("code", {403: "AccessDenied", 404: "NoSuchBucket", 503: "SlowDown"}.get(status, "InternalError"))
    message = action.get("message", f"fault injected: {code}")
    body = s3_error_xml(code, message)
    return response(status, [("Content-Type", "application/xml"), ("x-amz-error-code", code)], body, method)


async def send(writer, data):
    writer.write(data)
    await writer.drain()


async def send_huge(writer, upstream, method, action):
    size, chunked = int(action.get("bytes", 1 << 30)), bool(action.get("chunked"))
    writer.write(serialize_head(upstream, size, chunked=chunked))
    if method == "HEAD":
        await writer.drain()
        return True
    block = b"\0" * 65536
    sent = 0
    while sent < size:
        n = min(len(block), size - sent)
        writer.write(b"%x\r\n" % n + block[:n] + b"\r\n" if chunked else block[:n])
        sent += n
        await writer.drain()  # raises once the client stops reading and goes away
    if chunked:
        writer.write(b"0\r\n\r\n")
    await writer.drain()
    return True


def reset(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the real server")
    ap.add_argument("--rules", default="[]", help="JSON list of rules")
    ap.add_argument("--seed", type=int, default=1, help="seed of the probability draws")
    ap.add_argument("--tls-cert", help="serve TLS with this certificate chain (PEM)")
    ap.add_argument("--tls-key", help="the private key of --tls-cert (PEM)")
    ap.add_argument("--no-stdin-watch", action="store_true", help="do not exit when stdin reaches end-of-file")
    args = ap.parse_args()
    proxy = Proxy(args.upstream, json.loads(args.rules), args.seed)
    if args.tls_cert:
        proxy.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        proxy.tls.load_cert_chain(args.tls_cert, args.tls_key)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0, backlog=1024, limit=MAX_HEAD)
    control = await asyncio.start_server(proxy.control, "127.0.0.1", 0, limit=MAX_HEAD)
    port = server.sockets[0].getsockname()[1]
    cport = control.sockets[0].getsockname()[1]
    print(f"FAULTPROXY port={port} control={cport}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The parent holds our stdin: end-of-file means it is gone, so nothing outlives a test.
    if not args.no_stdin_watch:
        loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.buffer.read1(4096) else None)
    await stop.wait()
    server.close()
    control.close()
    for w in list(proxy.open_writers):
        w.transport.abort()


if __name__ == "__main__":
    asyncio.run(main())
