// UpstreamServer: the one loopback HTTP/1.1(S) server of the tests (a python3 child process). It plays
// an export host, a token endpoint, a webhook receiver or any HTTP peer: per-path response scripts,
// files streamed from disk, delays, holds, hangs, dropped connections, Standard Webhooks verification,
// a log of every request received, and counters of connections and requests in flight.

import Foundation
import Synchronization

/// One scripted answer (or non-answer) of an ``UpstreamServer``.
public struct UpstreamResponse: Sendable {
    /// Where the body comes from.
    public enum Body: Sendable {
        case bytes([UInt8])
        /// A file streamed from disk in chunks (never read whole into memory; sent with
        /// `sendfile` when the entry asks for nothing special), so GiB-size bodies are fine.
        case file(path: String)
    }

    /// What the server does with the request.
    public enum Action: String, Sendable {
        /// Sends the status, headers and body.
        case respond
        /// Reads the request and never answers (until the server stops).
        case hang
        /// Closes the connection without an answer (FIN).
        case close
        /// Resets the connection without an answer (RST).
        case reset
    }

    public var status: Int
    /// Sent as given, in order. `Content-Length` is added unless present here or `chunked`.
    public var headers: [(name: String, value: String)]
    public var body: Body
    public var action: Action
    /// `Transfer-Encoding: chunked` instead of `Content-Length`.
    public var chunked: Bool
    /// Size of the pieces the body is written in (one chunk each when `chunked`).
    public var chunkBytes: Int
    /// Wait before the response head.
    public var delay: Duration
    /// Wait after every body piece (a slow upstream).
    public var chunkDelay: Duration
    /// Close the connection after this many body bytes (a body that breaks off).
    public var dropAfterBytes: Int?
    /// Send `Connection: close` and close after the response.
    public var closeAfter: Bool
    /// Wait (at most 60 s) until ``UpstreamServer/release()`` before answering.
    public var heldUntilRelease: Bool
    /// Answer 401 with what is wrong (`missing webhook headers`, `bad timestamp`, `timestamp outside
    /// tolerance`, `bad signature`) unless the request carries a Standard Webhooks signature made with
    /// this key, checked by python's `hmac` (independently of the code under test).
    public var standardWebhooksKey: [UInt8]?
    /// How many requests this entry answers before the script moves to the next entry; the
    /// last entry of a script answers every request after that.
    public var times: Int

    public init(
        status: Int = 200, headers: [(name: String, value: String)] = [], body: Body = .bytes([]),
        action: Action = .respond, chunked: Bool = false, chunkBytes: Int = 64 * 1024,
        delay: Duration = .zero, chunkDelay: Duration = .zero, dropAfterBytes: Int? = nil,
        closeAfter: Bool = false, heldUntilRelease: Bool = false, standardWebhooksKey: [UInt8]? = nil, times: Int = 1
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.action = action
        self.chunked = chunked
        self.chunkBytes = chunkBytes
        self.delay = delay
        self.chunkDelay = chunkDelay
        self.dropAfterBytes = dropAfterBytes
        self.closeAfter = closeAfter
        self.heldUntilRelease = heldUntilRelease
        self.standardWebhooksKey = standardWebhooksKey
        self.times = times
    }

    /// `status` with a text body.
    public static func text(_ status: Int, _ text: String = "", headers: [(name: String, value: String)] = []) -> UpstreamResponse {
        UpstreamResponse(status: status, headers: headers, body: .bytes(Array(text.utf8)))
    }

    /// `status` with a JSON body (`Content-Type: application/json`).
    public static func json(_ status: Int = 200, _ json: String) -> UpstreamResponse {
        UpstreamResponse(status: status, headers: [(name: "Content-Type", value: "application/json")], body: .bytes(Array(json.utf8)))
    }

    /// 200 with the bytes of the file at `path`, streamed from disk.
    public static func file(_ path: String, status: Int = 200, headers: [(name: String, value: String)] = [], chunked: Bool = false) -> UpstreamResponse {
        UpstreamResponse(status: status, headers: headers, body: .file(path: path), chunked: chunked)
    }

    /// A redirect to `location` (absolute or relative).
    public static func redirect(_ status: Int = 302, to location: String) -> UpstreamResponse {
        UpstreamResponse(status: status, headers: [(name: "Location", value: location)], body: .bytes(Array("moved".utf8)))
    }

    /// An OAuth2 token endpoint's answer: `{"access_token", "expires_in", "token_type"}`.
    public static func oauthToken(_ accessToken: String, expiresIn: Int = 3600, tokenType: String = "Bearer") -> UpstreamResponse {
        .json(200, #"{"access_token":"\#(accessToken)","expires_in":\#(expiresIn),"token_type":"\#(tokenType)"}"#)
    }

    /// Accepts the request and never answers.
    public static var hang: UpstreamResponse { UpstreamResponse(action: .hang) }
    /// Closes the connection without an answer.
    public static var close: UpstreamResponse { UpstreamResponse(action: .close) }
    /// Resets the connection without an answer.
    public static var reset: UpstreamResponse { UpstreamResponse(action: .reset) }

    /// This entry answering `count` requests before the script moves on.
    public func times(_ count: Int) -> UpstreamResponse {
        var copy = self
        copy.times = max(1, count)
        return copy
    }

    /// This entry sent after `delay`.
    public func delayed(_ delay: Duration) -> UpstreamResponse {
        var copy = self
        copy.delay = delay
        return copy
    }

    /// This entry sent only once the test calls ``UpstreamServer/release()``.
    public func heldUntilReleased() -> UpstreamResponse {
        var copy = self
        copy.heldUntilRelease = true
        return copy
    }

    /// This entry for requests signed (Standard Webhooks) with `key`; 401 for any other.
    public func verifyingStandardWebhooks(key: [UInt8]) -> UpstreamResponse {
        var copy = self
        copy.standardWebhooksKey = key
        return copy
    }

    var json: [String: Any] {
        var entry: [String: Any] = [
            "status": status, "headers": headers.map { [$0.name, $0.value] }, "action": action.rawValue,
            "chunked": chunked, "chunk_size": chunkBytes, "times": times, "close": closeAfter,
            "delay_ms": delay.milliseconds, "chunk_delay_ms": chunkDelay.milliseconds,
        ]
        switch body {
        case .bytes(let bytes): entry["body"] = Data(bytes).base64EncodedString()
        case .file(let path): entry["file"] = path
        }
        if let dropAfterBytes { entry["drop_after"] = dropAfterBytes }
        if heldUntilRelease { entry["hold"] = true }
        if let standardWebhooksKey { entry["verify_standard_webhooks"] = Data(standardWebhooksKey).base64EncodedString() }
        return entry
    }
}

/// One request an ``UpstreamServer`` received.
public struct UpstreamRequest: Sendable {
    public var method: String
    /// The request target as sent: path and query.
    public var target: String
    public var path: String
    /// The query without `?` ("" when none).
    public var query: String
    /// Headers in the order received.
    public var headers: [(name: String, value: String)]
    /// The body (its first MiB).
    public var body: [UInt8]
    /// The client's port: requests with the same port came over the same connection.
    public var clientPort: Int

    /// The first header called `name`, compared without regard to case.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every value of the headers called `name` (any case), in order.
    public func headers(named name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The body decoded as `application/x-www-form-urlencoded`.
    public var formFields: [String: String] {
        var fields: [String: String] = [:]
        for pair in bodyText.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }
}

/// Counters of an ``UpstreamServer`` since it started.
public struct UpstreamStats: Sendable, Equatable {
    /// Connections accepted (on the scripted port).
    public var connections: Int
    /// The most requests the server was answering at once.
    public var maxInFlight: Int
}

/// A scripted HTTP/1.1 server on 127.0.0.1 (a python3 child, stdlib only), plain or https with
/// ``TestCertificates``. Every path answers from its script (``script(_:_:)``), `"*"` scripts every
/// path without its own, and a path without a script answers 404 `no script for PATH`. Every request
/// is logged with its headers and body (``requests(path:)``). Scripting, the log and the counters
/// (``stats()``) go through a second, plain-HTTP control port, so they never show in the log and work
/// with TLS too. Start and stop are bounded; the child also exits when the test process ends, or
/// after `lifetime`.
public final class UpstreamServer: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The port the upstream listens on (127.0.0.1).
    public let port: Int
    /// `http` or `https`.
    public let scheme: String
    /// With https: the path of the CA certificate that signed the server's (a client's `caFile`);
    /// it lives as long as the server.
    public let caFile: String?
    private let control: RawHTTPClient
    private let child: Mutex<Child?>

    private struct Child: @unchecked Sendable {
        var process: Process
        var directory: URL
    }

    /// `scheme://127.0.0.1:port`.
    public var baseURL: String { "\(scheme)://127.0.0.1:\(port)" }

    /// `baseURL` + `path` (which starts with `/`).
    public func url(_ path: String) -> String { baseURL + path }

    /// Starts a server (https with ``TestCertificates`` when `https`), waits (at most `startTimeout`)
    /// until it listens, and gives each path in `scripts` its one-entry script. The launch blocks a
    /// thread of its own, not the cooperative pool.
    public static func start(
        https: Bool = false, scripts: [String: UpstreamResponse] = [:], lifetime: Duration = .seconds(3600),
        startTimeout: Duration = .seconds(20)
    ) async throws -> UpstreamServer {
        let server = try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try launch(https: https, lifetime: lifetime, startTimeout: startTimeout) })
            }.start()
        }
        for (path, response) in scripts {
            try await server.script(path, response)
        }
        return server
    }

    private static func launch(https: Bool, lifetime: Duration, startTimeout: Duration) throws -> UpstreamServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("upstream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let tls = https ? try TestCertificates.files(in: directory) : nil
        let script = directory.appendingPathComponent("upstream.py")
        try upstreamServerScript.write(to: script, atomically: true, encoding: .utf8)
        let errors = directory.appendingPathComponent("stderr.txt")
        guard FileManager.default.createFile(atPath: errors.path, contents: nil) else {
            throw Failure(description: "cannot create \(errors.path)")
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "\(lifetime.components.seconds)"] + (tls.map { [$0.serverCertificate, $0.serverKey] } ?? [])
        let stdout = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()

        // A child that never prints is killed, which ends the read below.
        let started = Atomic<Bool>(false)
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(startTimeout.milliseconds))) {
            if !started.load(ordering: .acquiring) { kill(pid, SIGKILL) }
        }
        var output = Data()
        while !output.contains(UInt8(ascii: "\n")) {
            let data = stdout.fileHandleForReading.availableData
            if data.isEmpty { break }
            output.append(data)
        }
        started.store(true, ordering: .releasing)
        let ports = String(decoding: output, as: UTF8.self).split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard ports.count == 2 else {
            kill(pid, SIGKILL)
            process.waitForExit(timeout: .seconds(5))
            let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: directory)
            throw Failure(description: "upstream server did not start: '\(String(decoding: output, as: UTF8.self))' \(stderr)")
        }
        return UpstreamServer(port: ports[0], controlPort: ports[1], caFile: tls?.caCertificate, child: Child(process: process, directory: directory))
    }

    private init(port: Int, controlPort: Int, caFile: String?, child: Child) {
        self.port = port
        self.scheme = caFile == nil ? "http" : "https"
        self.caFile = caFile
        control = RawHTTPClient(port: controlPort)
        self.child = Mutex(child)
    }

    deinit {
        stop()
    }

    /// Replaces the script of `path` (`"*"`: every path without its own) and restarts it at its
    /// first entry.
    public func script(_ path: String, _ responses: [UpstreamResponse]) async throws {
        precondition(!responses.isEmpty, "a script needs at least one response")
        let document: [String: Any] = ["path": path, "entries": responses.map(\.json)]
        try await post("/script", try JSONSerialization.data(withJSONObject: document))
    }

    public func script(_ path: String, _ responses: UpstreamResponse...) async throws {
        try await script(path, responses)
    }

    /// Requests received so far, in order; only those for `path` when given.
    public func requests(path: String? = nil) async throws -> [UpstreamRequest] {
        let response = try await control.get("/requests")
        guard response.status == 200, let list = try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]] else {
            throw Failure(description: "upstream control /requests answered \(response.status)")
        }
        let all = list.map { entry in
            UpstreamRequest(
                method: entry["method"] as? String ?? "",
                target: entry["target"] as? String ?? "",
                path: entry["path"] as? String ?? "",
                query: entry["query"] as? String ?? "",
                headers: (entry["headers"] as? [[String]] ?? []).compactMap { $0.count == 2 ? (name: $0[0], value: $0[1]) : nil },
                body: Array(Data(base64Encoded: entry["body"] as? String ?? "") ?? Data()),
                clientPort: entry["client_port"] as? Int ?? 0
            )
        }
        return path.map { wanted in all.filter { $0.path == wanted } } ?? all
    }

    /// Waits until at least `count` requests for `path` (every path when nil) were received; false
    /// after `timeout`.
    public func waitForRequests(path: String? = nil, count: Int, timeout: Duration = .seconds(15)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await requests(path: path).count >= count { return true }
            try await Task.sleep(for: .milliseconds(25))
        }
        return false
    }

    /// Connections accepted and the peak of requests in flight so far.
    public func stats() async throws -> UpstreamStats {
        let response = try await control.get("/stats")
        guard response.status == 200, let counters = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Int] else {
            throw Failure(description: "upstream control /stats answered \(response.status)")
        }
        return UpstreamStats(connections: counters["connections"] ?? -1, maxInFlight: counters["max_in_flight"] ?? -1)
    }

    /// Lets every entry held by ``UpstreamResponse/heldUntilReleased()`` answer, now and from now on.
    public func release() async throws {
        try await post("/release", Data())
    }

    /// Forgets the request log (scripts stay).
    public func clearRequests() async throws {
        try await post("/clear-log", Data())
    }

    /// Forgets every script and the request log.
    public func reset() async throws {
        try await post("/reset", Data())
    }

    /// Kills the server and removes its files; safe to call twice. Waits at most 5 s.
    public func stop() {
        guard let child = child.withLock({ state -> Child? in
            defer { state = nil }
            return state
        }) else { return }
        if child.process.isRunning {
            kill(child.process.processIdentifier, SIGKILL)
            child.process.waitForExit(timeout: .seconds(5))
        }
        try? FileManager.default.removeItem(at: child.directory)
    }

    private func post(_ command: String, _ body: Data) async throws {
        let response = try await control.post(command, body: Array(body))
        guard response.status == 200 else {
            throw Failure(description: "upstream control \(command) answered \(response.status): \(response.bodyText)")
        }
    }
}

extension Duration {
    fileprivate var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
