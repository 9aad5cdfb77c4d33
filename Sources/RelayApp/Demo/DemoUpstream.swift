// The demo's export host: a Hummingbird application on a free loopback port serving one generated,
// gzip-compressed JSON Lines export, "not ready" (404) on the first poll.
import Foundation
import Hummingbird
import Logging
import NIOCore
import RelayGzip
import Synchronization

/// Serves `GET /v2/audienceExports/exports/{executionRef}/download`: 404 the first time (the relay polls
/// again, as it would for an export Sitecore has not finished), then 200 with `records` JSON lines,
/// gzip-compressed (`Content-Encoding: gzip`, `Content-Type: application/x-ndjson`).
struct DemoUpstream: Sendable {
    let records: Int
    /// The export body as served (gzip).
    let body: [UInt8]
    /// Size of the uncompressed JSON Lines.
    let plainBytes: Int
    private let requests = Requests()

    init(records: Int) {
        self.records = records
        let plain = Self.jsonLines(records)
        plainBytes = plain.count
        body = GzipEncoder.compress(plain)
    }

    /// How many export GETs were answered 404 and 200.
    var answered: (notReady: Int, ok: Int) { requests.counts }

    static func exportPath(executionRef: String) -> String {
        "/v2/audienceExports/exports/\(executionRef)/download"
    }

    /// The application, listening on 127.0.0.1 on a free port, reported through `onListening`.
    func makeApplication(logger: Logger, onListening: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        let body = ByteBuffer(bytes: self.body)
        let requests = self.requests
        router.get("/v2/audienceExports/exports/:executionRef/download") { _, _ -> Response in
            guard requests.next() > 1 else {
                return Response(status: .notFound, headers: [.contentType: "application/json"],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"status":"export not ready yet"}"#)))
            }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson", .contentEncoding: "gzip"],
                            body: ResponseBody(byteBuffer: body))
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0), serverName: "demo-upstream"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// `count` records such as `{"profileId":"p-000001","email":"user1@example.com","segment":"demo","score":1}`.
    static func jsonLines(_ count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(count * 80)
        for index in 1...count {
            let id = String(index)
            let padded = String(repeating: "0", count: max(0, 6 - id.count)) + id
            out.append(contentsOf: #"{"profileId":"p-\#(padded)","email":"user\#(index)@example.com","segment":"demo","score":\#(index % 100)}"#.utf8)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// Export GETs answered so far; only the first is "not ready".
    private final class Requests: Sendable {
        private let count = Mutex(0)

        /// Counts one export GET; returns its number (1 for the first).
        func next() -> Int {
            count.withLock { value in
                value += 1
                return value
            }
        }

        var counts: (notReady: Int, ok: Int) {
            let total = count.withLock { $0 }
            return (min(total, 1), max(total - 1, 0))
        }
    }
}
