// The python3 program behind UpstreamServer (stdlib only): a scripted HTTP/1.1(S) server playing any
// peer the tests talk to (export host, token endpoint, webhook receiver, plain HTTP server), plus a
// plain-HTTP control port through which the tests script it and read its log and counters.

/// Written to a temporary file and run as `python3 upstream.py LIFETIME_SECONDS [CERT KEY]`.
/// Prints `PORT CONTROL_PORT` once both listen on 127.0.0.1.
let upstreamServerScript = #"""
import base64, hashlib, hmac, json, os, socket, ssl, struct, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

lock = threading.Lock()
scripts = {}        # path (or "*") -> {"entries": [...], "index": 0, "served": 0}
log = []            # every request the upstream port received, in order
stopping = threading.Event()
released = threading.Event()  # opened by /release: entries with "hold" wait for it
stats = {"connections": 0, "in_flight": 0, "max_in_flight": 0}
MAX_RECORDED_BODY = 1 << 20

def next_entry(path):
    with lock:
        script = scripts.get(path) or scripts.get("*")
        if script is None:
            return None
        entries = script["entries"]
        entry = entries[script["index"]]
        script["served"] += 1
        if script["served"] >= entry.get("times", 1) and script["index"] < len(entries) - 1:
            script["index"] += 1
            script["served"] = 0
        return entry

def signature_problem(headers, body, key):
    """What is wrong with a request's Standard Webhooks signature under key, or None."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        return "missing webhook headers"
    try:
        seconds = int(timestamp)
    except ValueError:
        return "bad timestamp"
    if abs(time.time() - seconds) > 300:
        return "timestamp outside tolerance"
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for entry in signatures.split(" "):
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return None
    return "bad signature"

class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        try:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, body=b"", content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

class Upstream(Quiet):
    def setup(self):
        with lock:
            stats["connections"] += 1
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # in this connection's thread, so a slow client blocks nobody else

    def handle_any(self):
        body = self.read_body()
        url = urlsplit(self.path)
        record = {
            "method": self.command, "target": self.path, "path": url.path, "query": url.query,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": base64.b64encode(body[:MAX_RECORDED_BODY]).decode(),
            "client_port": self.client_address[1], "time": time.time(),
        }
        with lock:
            log.append(record)
        entry = next_entry(url.path)
        if entry is None:
            self.answer(404, ("no script for " + url.path).encode(), "text/plain")
            return
        with lock:
            stats["in_flight"] += 1
            stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
        try:
            self.play(entry, body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            with lock:
                stats["in_flight"] -= 1

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any

    def play(self, entry, body):
        if entry.get("delay_ms"):
            time.sleep(entry["delay_ms"] / 1000)
        if entry.get("hold"):
            released.wait(entry.get("hold_seconds", 60))
        key = entry.get("verify_standard_webhooks")
        if key is not None:
            problem = signature_problem(self.headers, body, base64.b64decode(key))
            if problem:
                self.answer(401, problem.encode(), "text/plain")
                return
        action = entry.get("action", "respond")
        if action == "hang":
            self.close_connection = True
            stopping.wait(entry.get("hang_seconds", 3600))
            return
        if action in ("close", "reset"):
            self.close_connection = True
            if action == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        status = entry.get("status", 200)
        headers = entry.get("headers", [])
        names = {name.lower() for name, _ in headers}
        path = entry.get("file")
        data = None if path else base64.b64decode(entry.get("body", ""))
        size = os.path.getsize(path) if path else len(data)
        chunked = entry.get("chunked", False)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif "content-length" not in names:
            self.send_header("Content-Length", str(size))
        if entry.get("close"):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD" or status in (204, 304) or status < 200:
            return
        self.send_body(entry, data, path, size, chunked)

    def send_body(self, entry, data, path, size, chunked):
        chunk_size = max(1, entry.get("chunk_size", 65536))
        chunk_delay = entry.get("chunk_delay_ms", 0) / 1000
        drop_after = entry.get("drop_after")
        sock = self.connection
        if path and not chunked and drop_after is None and not chunk_delay and not isinstance(sock, ssl.SSLSocket):
            with open(path, "rb") as f:
                sock.sendfile(f)
            return
        source = open(path, "rb") if path else None
        try:
            sent = 0
            while sent < size:
                piece = source.read(min(chunk_size, size - sent)) if source else data[sent:sent + chunk_size]
                if not piece:
                    break
                if drop_after is not None and sent + len(piece) > drop_after:
                    piece = piece[:max(0, drop_after - sent)]
                    if piece:
                        self.write_piece(piece, chunked)
                    self.close_connection = True
                    sock.shutdown(socket.SHUT_RDWR)
                    return
                self.write_piece(piece, chunked)
                sent += len(piece)
                if chunk_delay:
                    time.sleep(chunk_delay)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        finally:
            if source:
                source.close()

    def write_piece(self, piece, chunked):
        if chunked:
            self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
        else:
            self.wfile.write(piece)

class Control(Quiet):
    def do_POST(self):
        body = self.read_body()
        command = urlsplit(self.path).path
        if command == "/script":
            doc = json.loads(body)
            with lock:
                scripts[doc["path"]] = {"entries": doc["entries"], "index": 0, "served": 0}
            self.answer(200, b"{}")
        elif command == "/reset":
            with lock:
                scripts.clear()
                log.clear()
            self.answer(200, b"{}")
        elif command == "/release":
            released.set()
            self.answer(200, b"{}")
        elif command == "/clear-log":
            with lock:
                log.clear()
            self.answer(200, b"{}")
        else:
            self.answer(404, b"{}")

    def do_GET(self):
        command = urlsplit(self.path).path
        if command == "/requests":
            with lock:
                doc = json.dumps(log).encode()
            self.answer(200, doc)
        elif command == "/stats":
            with lock:
                doc = json.dumps({"connections": stats["connections"], "max_in_flight": stats["max_in_flight"]}).encode()
            self.answer(200, doc)
        else:
            self.answer(404, b"{}")

class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass  # clients that abort transfers are part of the tests

def main():
    lifetime = float(sys.argv[1])
    upstream = Server(("127.0.0.1", 0), Upstream)
    if len(sys.argv) > 3:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        # The handshake happens in the handler's thread (Upstream.setup).
        upstream.socket = context.wrap_socket(upstream.socket, server_side=True, do_handshake_on_connect=False)
    control = Server(("127.0.0.1", 0), Control)
    for server in (upstream, control):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(upstream.server_address[1], control.server_address[1], flush=True)
    parent = os.getppid()
    deadline = time.monotonic() + lifetime
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.5)
    stopping.set()
    os._exit(0)

main()
"""#
