// The bulk drain of an HTTP backlog against a real HTTP server and a real SQLite outbox: the same requests as
// the scheduled path, per-key order, and the hand-over to the scheduled path when a request fails.
import Foundation
import Logging
import RelayCore
import RelayCurl
@testable import RelayDelivery
import RelayOutbox
import RelayTestSupport
import Testing

@Suite(.serialized, .timeLimit(.minutes(3)))
struct HTTPBulkDrainTests {
    static let signingKey = Array("a signing key of at least 32 bytes!".utf8)
    static let now = Date(timeIntervalSince1970: 1_765_000_000)

    /// One backlog, two destinations on one server: one drained with the bulk drain off, the other with it
    /// on. Every request of the second matches the first's for the same event: method, body, and every
    /// header in order (static headers, one replaced by a route header, route headers with and without
    /// JSON escapes, with and without a subject, the Standard Webhooks signature).
    @Test func theBulkDrainSendsWhatTheScheduledPathSends() async throws {
        let server = try await UpstreamServer.start(scripts: ["/scheduled": .text(204), "/bulk": .text(204)])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let count = 2_500
        try await DispatcherHarness.run(destinations: [], sinks: [:], directory: directory) { h in
            try await Self.fill(h.outbox, count: count, to: ["scheduled", "bulk"])
        }
        let headers = ["X-Static": "from-config", "X-Tenant": "replaced by the route's", "Expect-Nothing": ""]
        let scheduled = Self.sink("scheduled", server.url("/scheduled"), headers: headers, client: client)
        try await DispatcherHarness.run(destinations: [Self.config("scheduled")], sinks: ["scheduled": scheduled], directory: directory,
                                        limits: { $0.bulkDrain = false }) { h in
            #expect(await eventually(timeout: .seconds(60)) { await Self.pending(h.outbox, "scheduled") == 0 })
        }
        let store = CapturingLogHandler.Store()
        let bulk = Self.sink("bulk", server.url("/bulk"), headers: headers, client: client)
        try await DispatcherHarness.run(destinations: [Self.config("bulk")], sinks: ["bulk": bulk], directory: directory,
                                        logger: Logger(label: "bulk") { _ in CapturingLogHandler(store: store) }) { h in
            #expect(await eventually(timeout: .seconds(60)) { await Self.pending(h.outbox, "bulk") == 0 })
        }
        let delivered = store.all.filter { $0.message == "bulk drain ended" }.compactMap { $0.metadata["delivered"].flatMap { Int("\($0)") } }
        #expect(delivered.reduce(0, +) == count, "\(store.all.map(\.message))")

        let expected = Self.byEventID(try await server.requests(path: "/scheduled"))
        let received = try await server.requests(path: "/bulk")
        let actual = Self.byEventID(received)
        #expect(expected.count == count && actual.count == count)
        for (id, want) in expected {
            guard let got = actual[id] else {
                Issue.record("\(id) missing from the bulk requests")
                continue
            }
            #expect(got.method == want.method && got.body == want.body, "\(id)")
            #expect(got.headers.map(\.name) == want.headers.map(\.name), "\(id)")
            #expect(got.headers.map(\.value) == want.headers.map(\.value), "\(id)")
        }
        let sample = try #require(actual.values.first { $0.header("x-tenant")?.hasPrefix("t") == true })
        #expect(sample.header("X-Static") == "from-config" && sample.header("webhook-signature")?.hasPrefix("v1,") == true)
        #expect(sample.header("Expect") == nil)
        Self.expectPerKeyOrder(received)
    }

    /// A request answered 503 in the middle of the drain: it ends early, and the scheduled path retries that
    /// delivery and sends the rest; everything is delivered once, in per-key order.
    @Test func aFailedRequestHandsTheBacklogToTheScheduledPath() async throws {
        let (ended, received, stats, _) = try await Self.drain(count: 1_000, script: [.text(204).times(300), .text(503, "busy"), .text(204)])
        #expect(ended.contains { $0.contains("answered HTTP 503") }, "\(ended)")
        #expect(stats.dead == 0 && stats.delivered == 1_000)
        #expect(Set(received.compactMap { $0.header("ce-id") }).count == 1_000)
        Self.expectPerKeyOrder(received)
    }

    /// A route header with CR LF: the drain ends before that delivery without sending it, and the scheduled
    /// path dead-letters it and delivers the rest.
    @Test func aHeaderThatCannotBeSentIsLeftToTheScheduledPath() async throws {
        let (ended, received, stats, _) = try await Self.drain(count: 1_000, script: [.text(204)], injectedAt: 200)
        #expect(ended.contains { $0.contains("route header that cannot be sent") }, "\(ended)")
        #expect(stats.dead == 1 && stats.delivered == 999)
        #expect(Set(received.compactMap { $0.header("ce-id") }).count == 999)
        #expect(!received.contains { $0.header("x-tenant")?.contains("evil") == true })
        Self.expectPerKeyOrder(received)
    }

    /// Every request permit of the destination is held elsewhere (as export forwarding holds them) when the
    /// drain starts: its lanes start nothing, and once the permits come back they are asked again and send
    /// the whole backlog in bulk.
    @Test func aDrainWaitingForPermitsHeldElsewhereSendsOnceTheyComeBack() async throws {
        let (ended, received, stats, inBulk) = try await Self.drain(count: 500, script: [.text(204)], permitsHeldFor: .milliseconds(300))
        #expect(ended.isEmpty && inBulk == 500, "\(ended), \(inBulk) delivered in bulk")
        #expect(stats.dead == 0 && stats.delivered == 500)
        #expect(Set(received.compactMap { $0.header("ce-id") }).count == 500)
        Self.expectPerKeyOrder(received)
    }

    /// Drains `count` events into a server answering `script`; returns why bulk drains ended early, the
    /// requests received, the outbox's figures once nothing is pending, and how many bulk drains delivered. With `permitsHeldFor`, every
    /// permit of the sink is taken before the dispatcher starts and given back after that long.
    static func drain(count: Int, script: [UpstreamResponse], injectedAt: Int? = nil, permitsHeldFor: Duration? = nil) async throws
        -> (endedEarly: [String], received: [UpstreamRequest], stats: DestinationStats, deliveredInBulk: Int) {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        try await server.script("/hook", script)
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await DispatcherHarness.run(destinations: [], sinks: [:], directory: directory) { h in
            try await Self.fill(h.outbox, count: count, to: ["hook"], injectedAt: injectedAt)
        }
        let store = CapturingLogHandler.Store()
        var stats: DestinationStats?
        let sink = Self.sink("hook", server.url("/hook"), client: client)
        var held = 0
        if permitsHeldFor != nil {
            while sink.slots.tryAcquire() { held += 1 }
            #expect(held == sink.slots.limit)
        }
        try await DispatcherHarness.run(destinations: [Self.config("hook")], sinks: ["hook": sink],
                                        directory: directory, logger: Logger(label: "bulk") { _ in CapturingLogHandler(store: store) }) { h in
            if let permitsHeldFor {
                try await Task.sleep(for: permitsHeldFor)
                #expect(await Self.pending(h.outbox, "hook") == count, "nothing is sent while every permit is held")
                for _ in 0..<held { sink.slots.release() }
            }
            #expect(await eventually(timeout: .seconds(60)) { await Self.pending(h.outbox, "hook") == 0 })
            stats = try await h.outbox.stats(now: Date()).first
        }
        let ended = store.all.filter { $0.message.hasPrefix("bulk drain ended early") }.compactMap { $0.metadata["ended_because"].map { "\($0)" } }
        let inBulk = store.all.filter { $0.message.hasPrefix("bulk drain ended") }.compactMap { $0.metadata["delivered"].flatMap { Int("\($0)") } }
        return (ended, try await server.requests(path: "/hook"), try #require(stats), inBulk.reduce(0, +))
    }

    // MARK: - Support

    static func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("http-bulk-\(UUID().uuidString)").path
    }

    static func sink(_ name: String, _ url: String, headers: [String: String] = [:], client: CurlClient) -> HTTPSink {
        HTTPSink(name: name, destination: HTTPSinkFixture.destination(url, headers: headers, concurrency: 8), signingKey: signingKey,
                 client: client, logger: HTTPSinkFixture.logger, clock: { now })
    }

    static func config(_ name: String) -> DestinationConfig {
        DestinationConfig(name: name, kind: .http(HTTPSinkFixture.destination("http://127.0.0.1:1/")),
                          delivery: DeliveryPolicy(maxAttempts: 1_000, maxAge: .seconds(3600),
                                                   initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(100)))
    }

    /// `count` events with a body `{"n":N}`; keys `k0`…`k15` with every 10th keyless, a subject on odd ones,
    /// an `x-tenant` route header on every other one (every 7th with characters stored escaped); with
    /// `injectedAt`, that event's route header carries a CR LF.
    static func fill(_ outbox: SQLiteOutbox, count: Int, to destinations: [String], injectedAt: Int? = nil) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<16 {
                group.addTask {
                    for n in stride(from: lane, to: count, by: 16) {
                        var headers: [PlannedDelivery.Header] = []
                        if n % 2 == 0 { headers.append(.init(name: "x-tenant", value: n % 7 == 0 ? "t\"\(n % 3)\\é" : "t\(n % 3)")) }
                        if n == injectedAt { headers = [.init(name: "x-tenant", value: "evil\r\nX-Injected: 1")] }
                        // A key's events come from one task, so their `n` order is their acceptance order.
                        let event = NewEvent(id: EventID.make(), source: "sitecore", type: "com.example.bulk", subject: n % 2 == 1 ? "s\(n)" : nil,
                                             dedupeKey: "\(n)", receivedAt: Date(), body: Array(#"{"n":\#(n)}"#.utf8),
                                             deliveries: destinations.map { PlannedDelivery(destination: $0, key: key(n), headers: headers, route: "r") })
                        _ = try await outbox.append(event)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    static func key(_ n: Int) -> String? { n % 10 == 0 ? nil : "k\(n % 16)" }

    static func pending(_ outbox: SQLiteOutbox, _ destination: String) async -> Int? {
        try? await outbox.stats(now: Date()).first { $0.destination == destination }?.pending
    }

    static func byEventID(_ requests: [UpstreamRequest]) -> [String: UpstreamRequest] {
        Dictionary(requests.compactMap { request in request.header("ce-id").map { ($0, request) } }, uniquingKeysWith: { first, _ in first })
    }

    /// In arrival order, the first request of each event of a key comes after those of its earlier events
    /// (a redelivery may repeat what came before, never overtake it).
    static func expectPerKeyOrder(_ requests: [UpstreamRequest], sourceLocation: SourceLocation = #_sourceLocation) {
        var seen = Set<String>()
        var last: [String: Int] = [:]
        for request in requests {
            let text = String(decoding: request.body, as: UTF8.self)
            guard let id = request.header("ce-id"), seen.insert(id).inserted, let n = Int(text.dropFirst(5).dropLast()),
                  let key = key(n) else { continue }
            if let previous = last[key], previous > n {
                Issue.record("key \(key): event \(n) arrived after event \(previous)", sourceLocation: sourceLocation)
            }
            last[key] = n
        }
    }
}
