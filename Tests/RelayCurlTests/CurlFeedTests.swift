// A feed's requests against a real loopback server: header lines arrive as written, plain ones (joined
// into one entry of libcurl's header list) as separate headers in order; a line that cannot be sent.
import Foundation
@testable import RelayCurl
import RelayTestSupport
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1)))
struct CurlFeedTests {
    /// One slot, three requests in turn: plain runs around ordinary headers and an empty plain value; a
    /// plain value with CRLF in it (not sent); then a request written into the same slot after it.
    @Test func plainHeadersArriveAsSeparateHeadersInTheOrderWritten() async throws {
        let server = try await UpstreamServer.start(scripts: ["/feed": .text(204)])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let source = ScriptedFeedSource(writes: [
            { request in
                request.addHeader(Array("X-First".utf8), Array("1".utf8))
                plain(request, "ce-a", "a")
                plain(request, "ce-b", "b")
                plain(request, "ce-empty", "")
                plain(request, "ce-c", "c")
                request.addHeader(Array("Content-Type".utf8), Array("application/json".utf8))
                plain(request, "webhook-id", "w1")
                plain(request, "webhook-timestamp", "17")
                Array("{}".utf8).withUnsafeBytes { request.setBody($0) }
            },
            { request in
                plain(request, "ce-a", "bad\r\nX-Injected: 1")
                plain(request, "ce-b", "b")
            },
            { request in
                plain(request, "ce-a", "again")
                request.addHeader(Array("X-Last".utf8), Array("z".utf8))
            },
        ])
        let template = CurlFeedTemplate(method: "POST", url: server.url("/feed"), connectTimeout: .seconds(5), totalTimeout: .seconds(10))
        guard let feed = client.openFeed(template: template, capacity: 1, worker: 0, tryAcquirePermit: { true }, releasePermit: {},
                                         source: source) else {
            Issue.record("the feed's easy handles could not be made")
            return
        }
        feed.pull()
        #expect(await eventually(timeout: .seconds(20)) { source.ends.count == 3 })
        feed.close()

        let ends = source.ends
        #expect(ends[0]?.status == 204 && ends[0]?.error == nil)
        #expect(ends[1]?.error?.message.contains("'ce-a'") == true, "\(String(describing: ends[1]))")
        #expect(ends[2]?.status == 204 && ends[2]?.error == nil)
        // X-First | ce-a ce-b | ce-empty | ce-c | Content-Type | webhook-id webhook-timestamp
        #expect(source.entryCounts.first == 6, "\(source.entryCounts)")

        let requests = try await server.requests(path: "/feed")
        try #require(requests.count == 2)
        let first = requests[0].headers.filter { !["host", "accept", "content-length"].contains($0.name.lowercased()) }
        #expect(first.map(\.name) == ["X-First", "ce-a", "ce-b", "ce-empty", "ce-c", "Content-Type", "webhook-id", "webhook-timestamp"])
        #expect(first.map(\.value) == ["1", "a", "b", "", "c", "application/json", "w1", "17"])
        #expect(requests[1].header("ce-a") == "again" && requests[1].header("X-Last") == "z")
        #expect(requests.allSatisfy { $0.header("X-Injected") == nil })
    }
}

private func plain(_ request: CurlFeedRequest, _ name: StaticString, _ value: String) {
    Array(value.utf8).withUnsafeBytes { request.addPlainHeader(name, $0) }
}

/// Writes its scripted requests in order (tagged by their index) and records how each ended.
private final class ScriptedFeedSource: CurlFeedSource, @unchecked Sendable {
    private let writes: [(CurlFeedRequest) -> Void]
    /// Read by the test while the worker thread writes it.
    private let recorded = Mutex<(ends: [Int: (status: Int, error: CurlError?)], entryCounts: [Int])>(([:], []))
    // Worker thread only:
    private var next = 0

    init(writes: [(CurlFeedRequest) -> Void]) {
        self.writes = writes
    }

    var ends: [Int: (status: Int, error: CurlError?)] { recorded.withLock { $0.ends } }
    /// The number of entries of libcurl's header list of each request written.
    var entryCounts: [Int] { recorded.withLock { $0.entryCounts } }

    func writeNext(into request: CurlFeedRequest) -> Bool {
        guard next < writes.count else { return false }
        writes[next](request)
        request.tag = next
        next += 1
        let entries = request.headerEntryCount
        recorded.withLock { $0.entryCounts.append(entries) }
        return true
    }

    func ended(tag: Int, status: Int, error: CurlError?) {
        recorded.withLock { $0.ends[tag] = (status, error) }
    }
}
