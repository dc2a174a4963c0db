"""Fault-injecting HTTPS proxy for the nixosTests (runs on the relay node in front of the relay).

Modes, read from --mode-file on every request (missing file: pass):
  pass                     forward unchanged
  down                     answer 503 without contacting the relay ("relay down" as the appliance sees it)
  tamper-order-signatures  forward, then flip one hex digit of every order envelope's signature in JSON
                           responses (`orders: [{payload, key_id, signature}]`, protocol/sync.ts pull)
  hold-orders              forward, but take every order envelope out of pull responses and keep it (the
                           relay does not send an expired order, so a late delivery has to be staged here)
  release-orders           forward, and add every kept envelope to the next pull response (then forget them)
Only the Python standard library is used.
"""
import argparse
import base64
import json
import ssl
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length",
              "proxy-connection", "te", "trailer"}
MAX_BODY = 8 * 1024 * 1024


def flip_hex(signature):
    last = signature[-1]
    return signature[:-1] + ("0" if last != "0" else "1")


def tamper(body):
    try:
        data = json.loads(body)
    except ValueError:
        return body, 0
    count = 0
    if isinstance(data, dict) and isinstance(data.get("orders"), list):
        for order in data["orders"]:
            if isinstance(order, dict) and isinstance(order.get("signature"), str) and order["signature"]:
                order["signature"] = flip_hex(order["signature"])
                count += 1
    if count == 0:
        return body, 0
    return json.dumps(data, separators=(",", ":")).encode(), count


def order_id(envelope):
    """The order id inside an envelope's base64url payload (for the log), or "?"."""
    try:
        payload = envelope["payload"]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["order_id"]
    except (KeyError, TypeError, ValueError):
        return "?"


class HeldOrders:
    """Order envelopes taken out of pull responses, by signature (the relay repeats them until they expire)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.held = {}

    def hold(self, body):
        try:
            data = json.loads(body)
        except ValueError:
            return body
        if not (isinstance(data, dict) and isinstance(data.get("orders"), list) and data["orders"]):
            return body
        with self.lock:
            for envelope in data["orders"]:
                if isinstance(envelope, dict) and envelope.get("signature") not in self.held:
                    self.held[envelope.get("signature")] = envelope
                    sys.stderr.write(f"fault-proxy: held order {order_id(envelope)}\n")
        data["orders"] = []
        return json.dumps(data, separators=(",", ":")).encode()

    def release(self, body):
        try:
            data = json.loads(body)
        except ValueError:
            return body
        if not (isinstance(data, dict) and isinstance(data.get("orders"), list)):
            return body
        with self.lock:
            if not self.held:
                return body
            released, self.held = list(self.held.values()), {}
        for envelope in released:
            sys.stderr.write(f"fault-proxy: released order {order_id(envelope)}\n")
        data["orders"] = data["orders"] + released
        return json.dumps(data, separators=(",", ":")).encode()


def make_handler(upstream, mode_file, upstream_context):
    held = HeldOrders()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def mode(self):
            try:
                with open(mode_file) as f:
                    return f.read().strip() or "pass"
            except OSError:
                return "pass"

        def relay(self):
            mode = self.mode()
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.reply(413, {}, b"too large")
                return
            body = self.rfile.read(length) if length else None
            if mode == "down":
                self.reply(503, {"Content-Type": "application/json"},
                           b'{"error":{"code":"unavailable","message":"fault-proxy: relay down","details":{}}}')
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            request = urllib.request.Request(upstream + self.path, data=body, headers=headers, method=self.command)
            try:
                with urllib.request.urlopen(request, context=upstream_context, timeout=60) as response:
                    status, response_headers, payload = response.status, response.headers, response.read()
            except urllib.error.HTTPError as e:
                status, response_headers, payload = e.code, e.headers, e.read()
            except (urllib.error.URLError, OSError) as e:
                self.reply(502, {}, f"fault-proxy: upstream unreachable: {e}".encode())
                return
            if mode == "tamper-order-signatures":
                payload, count = tamper(payload)
                if count:
                    sys.stderr.write(f"fault-proxy: corrupted {count} order signature(s) on {self.path}\n")
            elif mode == "hold-orders":
                payload = held.hold(payload)
            elif mode == "release-orders":
                payload = held.release(payload)
            out = {k: v for k, v in response_headers.items() if k.lower() not in HOP_BY_HOP}
            self.reply(status, out, payload)

        def reply(self, status, headers, payload):
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = relay

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--mode-file", required=True)
    args = parser.parse_args()

    host, port = args.listen.rsplit(":", 1)
    # The upstream is the relay on loopback with the same certificate; its name is not "127.0.0.1".
    upstream_context = ssl.create_default_context(cafile=args.cert)
    upstream_context.check_hostname = False
    server = ThreadingHTTPServer((host, int(port)), make_handler(args.upstream.rstrip("/"), args.mode_file, upstream_context))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
