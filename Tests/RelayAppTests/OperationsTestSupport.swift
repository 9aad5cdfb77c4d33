// A child relay with the admin API on, HTTP destinations on a scripted loopback server, and helpers to
// rewrite its routing table, post notifications and call the admin API.
import Foundation
import RelayTestSupport
import Testing

final class OperatedRelay: @unchecked Sendable {  // touched from the test's task only
    static let token = "test-admin-token-0123456789"

    let relay: RelayProcess
    let destination: UpstreamServer
    let adminPort: Int
    let configPath: String
    let directory: String

    /// Starts a relay on `routes` (the text of routes.yaml; `DEST` is replaced by the destination server's
    /// base URL) with the admin API on a free port.
    init(routes: String, extraArguments: [String] = []) async throws {
        destination = try await UpstreamServer.start()
        try await destination.script("*", .text(204))
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ops-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        configPath = directory + "/routes.yaml"
        let tokenPath = directory + "/admin-token"
        try Self.token.write(toFile: tokenPath, atomically: true, encoding: .utf8)
        adminPort = try RelayProcess.freePort()
        try Self.write(routes, baseURL: destination.baseURL, to: configPath)
        relay = try await RelayProcess(config: configPath, dataDirectory: directory + "/data",
                                       extraArguments: ["--admin-listen", "127.0.0.1:\(adminPort)", "--admin-token-file", tokenPath,
                                                        "--shutdown-grace", "5s"] + extraArguments)
    }

    func stop() {
        relay.terminate()
        destination.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Replaces the routing table the way editors do: write a new file, rename it over the old one.
    func rewrite(_ routes: String) throws {
        try Self.write(routes, baseURL: destination.baseURL, to: configPath)
    }

    private static func write(_ routes: String, baseURL: String, to path: String) throws {
        try routes.replacingOccurrences(of: "DEST", with: baseURL).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Posts a fresh Sitecore notification (new executionRef) to `path`; the status and the executionRef.
    func notify(_ path: String = "/hooks/sitecore", friendlyId: String = "vip_weekly_export") async -> (status: Int?, executionRef: String) {
        let reference = UUID().uuidString.lowercased()
        let body = """
            {"apiUrl":"https://api.example.com/x","audienceExportName":"n","clientKey":"k","definitionType":"FULL_SYNC",
             "executionRef":"\(reference)","executionType":"SCHEDULED","friendlyId":"\(friendlyId)","segmentName":"s","status":"SUCCESS"}
            """
        let response = try? await relay.client.post(path, body: Array(body.utf8))
        return (response?.status, reference)
    }

    /// An admin API call; `token` nil sends no Authorization header.
    func admin(_ method: String, _ path: String, json: String? = nil, token: String? = OperatedRelay.token) async throws -> RawResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        let body = Array((json ?? "").utf8)
        if json != nil { head += "Content-Type: application/json\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return try await RawHTTPClient(port: adminPort).send(rawHead: head, body: body)
    }

    /// executionRefs of the notifications the destination server got on `path`, in arrival order.
    func delivered(to path: String) async throws -> [String] {
        try await destination.requests(path: path).compactMap { request in
            (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])?["executionRef"] as? String
        }
    }

    /// The value of a metric line starting with `prefix` on /metrics (nil when absent).
    func metric(_ prefix: String) async throws -> Double? {
        let text = try await relay.client.get("/metrics").bodyText
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }
}

enum Tables {
    static let header = """
        version: 1
        sources:
          sitecore: {kind: sitecore-export, path: /hooks/sitecore}

        """

    /// One source, destination `alpha` (HTTP, DEST/a).
    static let alphaOnly = header + """
        destinations:
          alpha: {type: http, url: DEST/a, delivery: {initialBackoff: 50ms, maxBackoff: 200ms}}
        routes:
          - {name: all, source: [sitecore], to: [alpha]}
        """

    /// `alpha` and `beta` (DEST/b), both fed by every notification.
    static let alphaAndBeta = header + """
        destinations:
          alpha: {type: http, url: DEST/a, delivery: {initialBackoff: 50ms, maxBackoff: 200ms}}
          beta: {type: http, url: DEST/b, delivery: {initialBackoff: 50ms, maxBackoff: 200ms}}
        routes:
          - {name: all, source: [sitecore], to: [alpha, beta]}
        """

    /// A second source on /hooks/second and destination `beta`.
    static let secondSource = """
        version: 1
        sources:
          sitecore: {kind: sitecore-export, path: /hooks/sitecore}
          second: {kind: sitecore-export, path: /hooks/second}
        destinations:
          alpha: {type: http, url: DEST/a, delivery: {initialBackoff: 50ms, maxBackoff: 200ms}}
          beta: {type: http, url: DEST/b, delivery: {initialBackoff: 50ms, maxBackoff: 200ms}}
        routes:
          - {name: all, source: [sitecore], to: [alpha]}
          - {name: second, source: [second], to: [beta]}
        """

    /// Not a valid table: an unknown key on line 5, column 54.
    static let invalid = header + """
        destinations:
          alpha: {type: http, url: DEST/a, colour: blue}
        routes:
          - {name: all, source: [sitecore], to: [alpha]}
        """
}
