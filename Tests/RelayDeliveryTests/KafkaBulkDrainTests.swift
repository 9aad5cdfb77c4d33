// The bulk drain of a Kafka backlog against the mock cluster and a real SQLite outbox: the same messages as
// the scheduled path, per-key order, and the hand-over to the scheduled path when deliveries fail.
import Foundation
import Logging
import RelayCore
@testable import RelayDelivery
import RelayKafka
import RelayOutbox
import RelayTestSupport
import Testing

@Suite(.serialized, .timeLimit(.minutes(2)))
struct KafkaBulkDrainTests {
    typealias Fixture = KafkaSinkFixture

    /// One backlog, two destinations: one drained with the bulk drain off, the other with it on. Every
    /// message of the second matches the first: key, value, and every header in order (route headers with
    /// and without JSON escapes, with and without a subject, keyless events).
    @Test func theBulkDrainSendsWhatTheScheduledPathSends() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bulk-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clusters = KafkaClusters(logger: Fixture.logger)
        let suffix = UUID().uuidString.prefix(8)
        let scheduled = Self.destination("scheduled", topic: "bulk.scheduled.\(suffix)")
        let bulk = Self.destination("bulk", topic: "bulk.bulk.\(suffix)")
        let count = 3_000
        try await DispatcherHarness.run(destinations: [], sinks: [:], directory: directory) { h in
            try await Self.fill(h.outbox, count: count, to: ["scheduled", "bulk"])
        }
        let scheduledSink = try KafkaSink(name: "scheduled", destination: try Self.kafka(scheduled), clusters: clusters, logger: Fixture.logger)
        try await DispatcherHarness.run(destinations: [scheduled], sinks: ["scheduled": scheduledSink], directory: directory,
                                        limits: { $0.bulkDrain = false }) { h in
            #expect(await eventually { await Self.pending(h.outbox, "scheduled") == 0 })
        }
        let store = CapturingLogHandler.Store()
        let bulkSink = try KafkaSink(name: "bulk", destination: try Self.kafka(bulk), clusters: clusters, logger: Fixture.logger)
        try await DispatcherHarness.run(destinations: [bulk], sinks: ["bulk": bulkSink], directory: directory,
                                        logger: Logger(label: "bulk") { _ in CapturingLogHandler(store: store) }) { h in
            #expect(await eventually { await Self.pending(h.outbox, "bulk") == 0 })
        }
        let ended = store.all.filter { $0.message == "bulk drain ended" }
        let deliveredInBulk = ended.compactMap { $0.metadata["delivered"].map { "\($0)" } }
        #expect(deliveredInBulk.contains("\(count)"), "\(ended)")

        let bootstrap = try #require(try clusters.mockCluster(for: "mock:3")).bootstrapServers
        let expected = Fixture.byEventID(try await Fixture.readBack(bootstrap, topic: "bulk.scheduled.\(suffix)", expecting: count))
        let records = try await Fixture.readBack(bootstrap, topic: "bulk.bulk.\(suffix)", expecting: count)
        let actual = Fixture.byEventID(records)
        #expect(expected.count == count && actual.count == count)
        for (id, want) in expected {
            guard let got = actual[id] else {
                Issue.record("\(id) missing from the bulk topic")
                continue
            }
            #expect(got.key == want.key && got.value == want.value, "\(id)")
            #expect(got.headers.map(\.name) == want.headers.map(\.name), "\(id)")
            #expect(got.headers.map(\.value) == want.headers.map(\.value), "\(id)")
        }
        Self.expectPerKeyOrder(records)
        await scheduledSink.shutdown()
        await bulkSink.shutdown()
        await clusters.shutdown()
    }

    /// The brokers are down when the bulk drain starts: its messages time out, it ends early, and the
    /// scheduled path delivers everything (with retries) once the brokers are back; nothing is dead.
    @Test func failedDeliveriesHandTheBacklogToTheScheduledPath() async throws {
        let clusters = KafkaClusters(logger: Fixture.logger)
        let topic = "bulk.outage.\(UUID().uuidString.prefix(8))"
        let config = Self.destination("bulk", topic: topic, properties: ["message.timeout.ms": "1000"])
        let sink = try KafkaSink(name: "bulk", destination: try Self.kafka(config), clusters: clusters, logger: Fixture.logger)
        let cluster = try #require(try clusters.mockCluster(for: "mock:3"))
        let store = CapturingLogHandler.Store()
        let count = 4_000
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bulk-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await DispatcherHarness.run(destinations: [], sinks: [:], directory: directory) { h in
            try await Self.fill(h.outbox, count: count, to: ["bulk"])
        }
        for broker in 1...3 { cluster.setBrokerDown(Int32(broker)) }
        try await DispatcherHarness.run(destinations: [config], sinks: ["bulk": sink], directory: directory,
                                        logger: Logger(label: "bulk") { _ in CapturingLogHandler(store: store) }) { h in
            #expect(await eventually { store.all.contains { $0.message.hasPrefix("bulk drain ended early") } })
            for broker in 1...3 { cluster.setBrokerUp(Int32(broker)) }
            #expect(await eventually(timeout: .seconds(60)) { await Self.pending(h.outbox, "bulk") == 0 })
            let stats = try #require(try await h.outbox.stats(now: Date()).first)
            #expect(stats.dead == 0 && stats.delivered == count)
        }
        let early = try #require(store.all.first { $0.message.hasPrefix("bulk drain ended early") })
        #expect(early.metadata["ended_because"]?.description.contains("delivery failed") == true, "\(early)")
        let records = try await Fixture.readBack(cluster.bootstrapServers, topic: topic, expecting: count)
        let ids = Set(records.compactMap { Fixture.header($0, "ce_id") })
        #expect(ids.count == count)
        Self.expectPerKeyOrder(records)
        await sink.shutdown()
        await clusters.shutdown()
    }

    /// Large events and a byte window of a few of them: the drain produces what fits, waits for their
    /// reports, and goes on until everything is delivered in bulk.
    @Test func theByteWindowBoundsWhatIsUnconfirmed() async throws {
        let clusters = KafkaClusters(logger: Fixture.logger)
        let topic = "bulk.bytes.\(UUID().uuidString.prefix(8))"
        let config = Self.destination("bulk", topic: topic)
        let sink = try KafkaSink(name: "bulk", destination: try Self.kafka(config), clusters: clusters, logger: Fixture.logger)
        let store = CapturingLogHandler.Store()
        let count = 600
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bulk-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await DispatcherHarness.run(destinations: [], sinks: [:], directory: directory) { h in
            try await Self.fill(h.outbox, count: count, to: ["bulk"], padding: 20_000)
        }
        try await DispatcherHarness.run(destinations: [config], sinks: ["bulk": sink], directory: directory,
                                        limits: { $0.windowBytes = 100_000 },
                                        logger: Logger(label: "bulk") { _ in CapturingLogHandler(store: store) }) { h in
            #expect(await eventually { await Self.pending(h.outbox, "bulk") == 0 })
        }
        let ended = store.all.filter { $0.message == "bulk drain ended" }
        let chunks = ended.compactMap { $0.metadata["chunks"].flatMap { Int("\($0)") } }.reduce(0, +)
        let deliveredInBulk = ended.compactMap { $0.metadata["delivered"].flatMap { Int("\($0)") } }.reduce(0, +)
        #expect(deliveredInBulk == count, "\(store.all.map(\.message))")
        // About 5 events of 20 KB fit in 100 KB: many produce steps, not one per 2,000 rows.
        #expect(chunks >= count / 10, "\(chunks) chunks")
        let records = try await Fixture.readBack(try #require(try clusters.mockCluster(for: "mock:3")).bootstrapServers,
                                                 topic: topic, expecting: count)
        #expect(Set(records.compactMap { Fixture.header($0, "ce_id") }).count == count)
        await sink.shutdown()
        await clusters.shutdown()
    }

    // MARK: - Support

    static func destination(_ name: String, topic: String, properties: [String: String] = [:]) -> DestinationConfig {
        DestinationConfig(name: name, kind: .kafka(KafkaDestination(brokers: "mock:3", topic: topic, properties: properties)),
                          delivery: DeliveryPolicy(maxAttempts: 1_000, maxAge: .seconds(3600),
                                                   initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(100)))
    }

    static func kafka(_ config: DestinationConfig) throws -> KafkaDestination {
        guard case .kafka(let kafka) = config.kind else { throw CancellationError() }
        return kafka
    }

    /// `count` events with a body `{"n":N}`; keys `k0`…`k31` with every 10th keyless, a subject on odd
    /// ones, a route header on every other one (every 7th with characters stored escaped).
    static func fill(_ outbox: SQLiteOutbox, count: Int, to destinations: [String], padding: Int = 0) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<32 {
                group.addTask {
                    for n in stride(from: lane, to: count, by: 32) {
                        var headers: [PlannedDelivery.Header] = []
                        if n % 2 == 0 { headers.append(.init(name: "x-tenant", value: n % 7 == 0 ? "t\"\(n % 3)\\é" : "t\(n % 3)")) }
                        // A key's events come from one task, so their `n` order is their acceptance order.
                        let key: String? = n % 10 == 0 ? nil : "k\(n % 32)"
                        let event = NewEvent(id: EventID.make(), source: "sitecore", type: "com.example.bulk", subject: n % 2 == 1 ? "s\(n)" : nil,
                                             dedupeKey: "\(n)", receivedAt: Date(), body: Self.body(n, padding: padding),
                                             deliveries: destinations.map { PlannedDelivery(destination: $0, key: key, headers: headers, route: "r") })
                        _ = try await outbox.append(event)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    static func pending(_ outbox: SQLiteOutbox, _ destination: String) async -> Int? {
        try? await outbox.stats(now: Date()).first { $0.destination == destination }?.pending
    }

    /// Within a partition, the first appearance of each key's events follows their acceptance order (a
    /// redelivery may repeat what came before it, never overtake it).
    static func expectPerKeyOrder(_ records: [KafkaRecord], sourceLocation: SourceLocation = #_sourceLocation) {
        var seen = Set<String>()
        var last: [String: Int] = [:]
        for record in records.sorted(by: { ($0.partition, $0.offset) < ($1.partition, $1.offset) }) {
            guard let key = Fixture.text(record.key), let id = Fixture.header(record, "ce_id"), seen.insert(id).inserted,
                  let n = Self.n(record) else { continue }
            if let previous = last[key], previous > n {
                Issue.record("key \(key): event \(n) arrived after event \(previous)", sourceLocation: sourceLocation)
            }
            last[key] = n
        }
    }

    static func body(_ n: Int, padding: Int) -> [UInt8] {
        padding == 0 ? Array(#"{"n":\#(n)}"#.utf8) : Array(#"{"n":\#(n),"pad":"\#(String(repeating: "x", count: padding))"}"#.utf8)
    }

    /// The `n` of a `{"n":N}` body: events of one key are appended in increasing `n` by one task.
    static func n(_ record: KafkaRecord) -> Int? {
        let text = String(decoding: record.value, as: UTF8.self)
        return Int(text.dropFirst(5).dropLast())
    }
}
