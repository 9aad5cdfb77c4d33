// Test fixtures: a real loopback HTTP(S) server (a python3 script run as a child process) and
// a throwaway certificate authority made with openssl.

import Foundation
import RelayTestSupport

struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

/// A python3 `http.server` on 127.0.0.1 with routes for every behaviour the tests need:
/// `/status/CODE?h=Name:Value&body=TEXT`, `/echo` (request as JSON), `/delay?ms=N`, `/hang`
/// (accepts, never answers), `/close` (drops the connection), `/conns` (connections accepted so
/// far), `/redirect?to=PATH`, `/big?size=N&seed=S` (random bytes, CRC-32 in `X-Body-CRC32`).
/// The child exits when the test process does (it watches its parent), at the latest after 10 minutes.
final class TestServer: @unchecked Sendable {
    let port: Int
    let scheme: String
    private let process: Process
    private let directory: URL

    var baseURL: String { "\(scheme)://127.0.0.1:\(port)" }

    /// Starts a server; the blocking launch runs on its own thread, not the cooperative pool.
    static func start(tls: TestCertificates? = nil) async throws -> TestServer {
        try await onOwnThread { try launch(tls: tls) }
    }

    private static func launch(tls: TestCertificates?) throws -> TestServer {
        let directory = try makeTemporaryDirectory()
        let script = directory.appendingPathComponent("server.py")
        try serverScript.write(to: script, atomically: true, encoding: .utf8)
        var arguments = pythonPath == "/usr/bin/env" ? ["python3", script.path] : [script.path]
        if let tls { arguments += [tls.serverCertificate, tls.serverKey] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: pythonPath)
        process.arguments = arguments
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
            throw FixtureError(description: "test server did not start: '\(line)'")
        }
        return TestServer(port: port, scheme: tls == nil ? "http" : "https", process: process, directory: directory)
    }

    private init(port: Int, scheme: String, process: Process, directory: URL) {
        self.port = port
        self.scheme = scheme
        self.process = process
        self.directory = directory
    }

    deinit {
        stop()
    }

    /// Ends the server process and removes its files; safe to call twice.
    func stop() {
        if process.isRunning {
            // SIGKILL: children of the test process may inherit a blocked SIGTERM.
            kill(process.processIdentifier, SIGKILL)
            process.waitForExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    static var pythonPath: String {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "/usr/bin/env"
    }
}

/// A CA and a server certificate for 127.0.0.1 and localhost signed by it (EC P-256, 2 days).
struct TestCertificates {
    let directory: URL
    var caCertificate: String { directory.appendingPathComponent("ca.pem").path }
    var serverCertificate: String { directory.appendingPathComponent("server.pem").path }
    var serverKey: String { directory.appendingPathComponent("server-key.pem").path }

    static func make() async throws -> TestCertificates {
        try await onOwnThread { try generate() }
    }

    private static func generate() throws -> TestCertificates {
        let directory = try makeTemporaryDirectory()
        let certificates = TestCertificates(directory: directory)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run("openssl", ["req", "-x509"] + ec + [
            "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=RelayCurl Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ], in: directory)
        try run("openssl", ["req"] + ec + ["-keyout", "server-key.pem", "-out", "server.csr", "-subj", "/CN=localhost"], in: directory)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(to: directory.appendingPathComponent("ext.cnf"), atomically: true, encoding: .utf8)
        try run("openssl", [
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf",
        ], in: directory)
        return certificates
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private static func run(_ tool: String, _ arguments: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitForExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError(description: "\(tool) \(arguments.joined(separator: " ")) failed")
        }
    }
}

/// Runs blocking fixture work (process launches) on a fresh thread and awaits its result.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("relaycurl-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private let serverScript = #"""
import base64, json, os, random, socket, ssl, sys, threading, time, zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

lock = threading.Lock()
connections = 0
big_cache = {}

def big_body(size, seed):
    key = (size, seed)
    with lock:
        if key not in big_cache:
            data = random.Random(seed).randbytes(size)
            big_cache[key] = (data, zlib.crc32(data))
        return big_cache[key]

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        global connections
        with lock:
            connections += 1
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
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        route = parts[0]
        if route == "status":
            headers = [tuple(h.split(":", 1)) for h in query.get("h", [])]
            self.answer(int(parts[1]), headers, query.get("body", [""])[0].encode())
        elif route == "echo":
            doc = {"method": self.command, "path": self.path,
                   "headers": [[k, v] for k, v in self.headers.items()],
                   "body": base64.b64encode(body).decode()}
            self.answer(200, [("Content-Type", "application/json")], json.dumps(doc).encode())
        elif route == "delay":
            time.sleep(int(query.get("ms", ["100"])[0]) / 1000)
            self.answer(200, [], b"late")
        elif route == "hang":
            time.sleep(120)
        elif route == "close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif route == "conns":
            with lock:
                count = connections
            self.answer(200, [], str(count).encode())
        elif route == "redirect":
            self.answer(302, [("Location", query["to"][0])], b"moved")
        elif route == "big":
            size = int(query["size"][0])
            data, crc = big_body(size, int(query.get("seed", ["1"])[0]))
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.send_header("X-Body-CRC32", str(crc))
            self.end_headers()
            view = memoryview(data)
            for offset in range(0, size, 65536):
                self.wfile.write(view[offset:offset + 65536])
        else:
            self.answer(404, [], b"no route")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any

class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass  # clients that abort transfers are part of the tests

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
    watchdog(os.getppid())  # exit with the test process, or after 10 minutes

main()
"""#
