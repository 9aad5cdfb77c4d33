// Fixtures for the HTTP sink tests: a programmable loopback HTTP(S) receiver (a python3 child process that
// records every request and verifies Standard Webhooks signatures on its own), a throwaway CA made with openssl, and builders.
import Foundation
import RelayTestSupport
import Logging
import RelayCore
import RelayCurl
import RelayDelivery
import Synchronization

struct HTTPSinkFixtureError: Error, CustomStringConvertible {
    var description: String
}

/// A python3 `http.server` on 127.0.0.1. Every request outside `/_control/` is recorded, then:
/// - `/status/CODE?h=Name:Value&body=TEXT` answers CODE with those headers and body;
/// - `/record` answers 204;
/// - `/verify?key=BASE64` recomputes the Standard Webhooks HMAC-SHA256 with python's `hmac`
///   and answers 204, or 401 with what is wrong;
/// - `/hang` accepts the request and never answers;
/// - `/switch` answers the status set by `/_control/switch?status=N&hold=1`, holding each
///   request until `/_control/release` when `hold` is set;
/// - `/slow?ms=N` answers 204 after N ms, tracking the most requests in flight at once.
/// `/_control/requests` returns the record as JSON, `/_control/stats` the in-flight peak. The
/// child exits when the test process does (it watches its parent), at the latest after 10 minutes.
final class HTTPSinkTestServer: @unchecked Sendable {
    struct RecordedRequest: Decodable, Sendable {
        var method: String
        var path: String
        var headers: [[String]]
        var body: String

        /// Values of the headers called `name` (any case), in order.
        func header(_ name: String) -> [String] {
            headers.filter { $0.count == 2 && $0[0].lowercased() == name.lowercased() }.map { $0[1] }
        }

        var bodyBytes: [UInt8] { Array(Data(base64Encoded: body) ?? Data()) }
    }

    let port: Int
    let scheme: String
    private let process: Process
    private let directory: URL
    private let controlClient: CurlClient
    private let caFile: String?

    var baseURL: String { "\(scheme)://127.0.0.1:\(port)" }

    /// Starts a server (HTTPS with `tls`); the blocking launch runs on a thread of its own.
    static func start(tls: HTTPSinkTestCertificates? = nil) async throws -> HTTPSinkTestServer {
        try await HTTPSinkFixture.onOwnThread { try launch(tls: tls) }
    }

    private static func launch(tls: HTTPSinkTestCertificates?) throws -> HTTPSinkTestServer {
        let directory = try HTTPSinkFixture.makeTemporaryDirectory()
        let script = directory.appendingPathComponent("receiver.py")
        try receiverScript.write(to: script, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path] + (tls.map { [$0.serverCertificate, $0.serverKey] } ?? [])
        let stdout = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        try process.run()
        var output = Data()
        while !output.contains(UInt8(ascii: "\n")) {
            let data = stdout.fileHandleForReading.availableData
            if data.isEmpty { break }
            output.append(data)
        }
        let line = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let port = Int(line) else {
            kill(process.processIdentifier, SIGKILL)
            try? FileManager.default.removeItem(at: directory)
            throw HTTPSinkFixtureError(description: "test receiver did not start: '\(line)'")
        }
        return HTTPSinkTestServer(port: port, tls: tls, process: process, directory: directory)
    }

    private init(port: Int, tls: HTTPSinkTestCertificates?, process: Process, directory: URL) {
        self.port = port
        self.scheme = tls == nil ? "http" : "https"
        self.caFile = tls?.caCertificate
        self.process = process
        self.directory = directory
        self.controlClient = HTTPSinkFixture.client()
    }

    deinit {
        stop()
    }

    /// Kills the server (SIGKILL: children of the test process may inherit a blocked SIGTERM) and
    /// removes its files. Does not wait; Foundation reaps the child. Safe to call twice.
    func stop() {
        controlClient.shutdown()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// ``stop()``, then waits (on a thread of its own) until the process is gone and its port closed.
    func stopAndWait() async throws {
        stop()
        let process = self.process
        _ = try await HTTPSinkFixture.onOwnThread { process.waitForExit() }
    }

    /// GETs `/_control/<command>` and returns the body.
    @discardableResult
    func control(_ command: String) async throws -> [UInt8] {
        let request = HTTPRequestSpec(url: baseURL + "/_control/" + command, caFile: caFile, proxy: "")
        let result = try await controlClient.execute(request, maxBodyBytes: 16 << 20)
        guard result.head.status == 200 else {
            throw HTTPSinkFixtureError(description: "control \(command) answered \(result.head.status)")
        }
        return result.body
    }

    /// Every request recorded so far (control requests aside), oldest first.
    func requests() async throws -> [RecordedRequest] {
        try JSONDecoder().decode([RecordedRequest].self, from: Data(try await control("requests")))
    }

    /// The recorded requests whose path starts with `prefix`.
    func requests(to prefix: String) async throws -> [RecordedRequest] {
        try await requests().filter { $0.path.hasPrefix(prefix) }
    }

    /// Waits until at least `count` requests to `prefix` were recorded; false after `timeout`.
    func waitForRequests(to prefix: String, count: Int, timeout: Duration = .seconds(15)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await requests(to: prefix).count >= count { return true }
            try await Task.sleep(for: .milliseconds(25))
        }
        return false
    }

    /// The most `/slow` requests the server was handling at once.
    func maxInFlight() async throws -> Int {
        Int(String(decoding: try await control("stats"), as: UTF8.self)) ?? -1
    }
}

/// A CA and a server certificate for 127.0.0.1 and localhost signed by it (EC P-256, valid 2 days).
struct HTTPSinkTestCertificates: Sendable {
    let directory: URL
    var caCertificate: String { directory.appendingPathComponent("ca.pem").path }
    var serverCertificate: String { directory.appendingPathComponent("server.pem").path }
    var serverKey: String { directory.appendingPathComponent("server-key.pem").path }

    static func make() async throws -> HTTPSinkTestCertificates {
        try await HTTPSinkFixture.onOwnThread { try generate() }
    }

    private static func generate() throws -> HTTPSinkTestCertificates {
        let directory = try HTTPSinkFixture.makeTemporaryDirectory()
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(["req", "-x509"] + key + [
            "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=HTTPSink Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ], in: directory)
        try openssl(["req"] + key + ["-keyout", "server-key.pem", "-out", "server.csr", "-subj", "/CN=localhost"], in: directory)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(to: directory.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
        ], in: directory)
        return HTTPSinkTestCertificates(directory: directory)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private static func openssl(_ arguments: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitForExit()
        guard process.terminationStatus == 0 else {
            throw HTTPSinkFixtureError(description: "openssl \(arguments.joined(separator: " ")) failed")
        }
    }
}

/// A clock the tests set by hand.
final class HTTPSinkTestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date) { current = Mutex(start) }

    var now: Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }

    var function: @Sendable () -> Date { { self.now } }
}

/// A flag one task sets and another reads.
final class HTTPSinkTestFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .releasing) }

    var isSet: Bool { value.load(ordering: .acquiring) }
}

enum HTTPSinkFixture {
    static let logger = Logger(label: "http-sink-test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func client() -> CurlClient {
        CurlClient(configuration: CurlClientConfiguration(), logger: logger)
    }

    /// A destination with short timeouts and no proxy (whatever the environment says).
    static func destination(
        _ url: String, method: String = "POST", headers: [String: String] = [:], timeout: Duration = .seconds(10),
        concurrency: Int = 4, retryOnStatus: Set<Int> = HTTPDestination.defaultRetryStatuses, caFile: String? = nil,
        breakerFailures: Int = 100, breakerCoolDown: Duration = .seconds(30)
    ) -> HTTPDestination {
        HTTPDestination(
            url: url, method: method, headers: headers, connectTimeout: .seconds(5), timeout: timeout,
            concurrency: concurrency, retryOnStatus: retryOnStatus, caFile: caFile, proxy: "",
            breakerFailures: breakerFailures, breakerCoolDown: breakerCoolDown
        )
    }

    static func sink(
        _ destination: HTTPDestination, client: CurlClient, signingKey: [UInt8]? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) -> HTTPSink {
        HTTPSink(name: "downstream", destination: destination, signingKey: signingKey, client: client, logger: logger, clock: clock)
    }

    static let receivedAt = Date(timeIntervalSince1970: 1_763_900_000.125)

    static func item(_ number: Int, body: String? = nil, headers: [PlannedDelivery.Header] = []) -> DeliveryItem {
        DeliveryItem(
            deliveryID: Int64(number), destination: "downstream", eventID: "evt-\(number)-\(UUID().uuidString)",
            source: "sitecore", eventType: "com.sitecore.cdp.audience-export.notification", subject: "audience-\(number)",
            receivedAt: receivedAt, key: "audience-\(number)", headers: headers,
            body: Array((body ?? #"{"friendlyId":"audience-\#(number)","n":\#(number)}"#).utf8), attempt: 1
        )
    }

    static func items(_ range: Range<Int>) -> [DeliveryItem] {
        range.map { item($0) }
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters (for query values).
    static func query(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// Runs blocking fixture work (process launches and waits) on a fresh thread and awaits its result.
    static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    static func makeTemporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("relay-httpsink-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

private let receiverScript = #"""
import base64, hashlib, hmac, json, os, socket, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

lock = threading.Lock()
recorded = []
switch = {"status": 200, "hold": False}
released = threading.Event()
in_flight = 0
max_in_flight = 0

def signature_problem(headers, body, key):
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

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def log_message(self, *args):
        pass

    def answer(self, status, headers=(), body=b""):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def handle_any(self):
        global in_flight, max_in_flight
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        if parts[0] == "_control":
            return self.control(parts[1] if len(parts) > 1 else "", query)
        with lock:
            recorded.append({"method": self.command, "path": self.path,
                             "headers": [[k, v] for k, v in self.headers.items()],
                             "body": base64.b64encode(body).decode()})
        route = parts[0]
        if route == "status":
            headers = [tuple(h.split(":", 1)) for h in query.get("h", [])]
            self.answer(int(parts[1]), headers, query.get("body", [""])[0].encode())
        elif route == "record":
            self.answer(204)
        elif route == "verify":
            problem = signature_problem(self.headers, body, base64.b64decode(query["key"][0]))
            if problem:
                self.answer(401, [], problem.encode())
            else:
                self.answer(204)
        elif route == "hang":
            time.sleep(600)
        elif route == "switch":
            with lock:
                status, hold = switch["status"], switch["hold"]
            if hold:
                released.wait(60)
            self.answer(status, [], b"switched")
        elif route == "slow":
            with lock:
                in_flight += 1
                max_in_flight = max(max_in_flight, in_flight)
            time.sleep(int(query.get("ms", ["100"])[0]) / 1000)
            with lock:
                in_flight -= 1
            self.answer(204)
        else:
            self.answer(404, [], b"no route")

    def control(self, command, query):
        if command == "requests":
            with lock:
                doc = json.dumps(recorded).encode()
            self.answer(200, [("Content-Type", "application/json")], doc)
        elif command == "switch":
            with lock:
                switch["status"] = int(query["status"][0])
                switch["hold"] = query.get("hold", ["0"])[0] == "1"
                if switch["hold"]:
                    released.clear()
            self.answer(200, [], b"ok")
        elif command == "release":
            released.set()
            self.answer(200, [], b"ok")
        elif command == "stats":
            with lock:
                peak = max_in_flight
            self.answer(200, [], str(peak).encode())
        else:
            self.answer(404, [], b"no such control")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass  # clients that give up (timeouts, refused certificates) are part of the tests

def watchdog(parent):
    deadline = time.monotonic() + 600
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.5)
    os._exit(0)

def main():
    server = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) > 2:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    watchdog(os.getppid())

main()
"""#
