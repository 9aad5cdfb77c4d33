// kill -9 in the middle of a bulk drain of a Kafka backlog: after a restart every event is delivered.
import Foundation
import Logging
import RelayCore
import RelayKafka
import RelayOutbox
import RelayTestSupport
import Testing

@Suite(.serialized) struct BulkDrainCrashTests {
    @Test func aKillInTheMiddleOfABulkDrainLosesNothing() async throws {
        let logger = Logger(label: "bulk-crash-test") { _ in SwiftLogNoOpLogHandler() }
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("bulk-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let config = work.appendingPathComponent("routes.yaml").path
        let topic = "crash.bulk.\(UUID().uuidString.prefix(8))"
        try """
            sources: {sitecore: {kind: sitecore-export, path: /hooks/sitecore}}
            destinations:
              events: {type: kafka, brokers: "\(cluster.bootstrapServers)", topic: \(topic)}
            routes: [{name: all, source: sitecore, to: events}]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let dataDirectory = work.appendingPathComponent("data").path
        let count = 40_000
        let ids = try await Self.backlog(count, in: dataDirectory, logger: logger)

        let reader = try KafkaReader(bootstrapServers: cluster.bootstrapServers, logger: logger)
        let relay = try await RelayProcess(config: config, dataDirectory: dataDirectory, extraArguments: ["--log-level", "info"])
        // Killed once part of the backlog is in the topic, well before all of it is.
        var atKill: Int64 = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            atKill = (try? reader.highWatermarks(topic: topic, timeout: .seconds(2)).values.reduce(0, +)) ?? 0
            if atKill >= 2_000 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        relay.kill()
        let log = relay.log(tail: 50)
        #expect(log.contains("draining backlog in bulk"), "\(log)")
        #expect(atKill >= 2_000 && atKill < Int64(count), "killed after \(atKill) of \(count) messages")

        let final = try await RelayProcess(config: config, dataDirectory: dataDirectory)
        var delivered = Set<String>()
        let until = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < until {
            let records = try reader.read(topic: topic, maxMessages: 200_000, timeout: .seconds(10))
            delivered = Set(records.compactMap { record in
                record.headers.first { $0.name == "ce_id" }.map { String(decoding: $0.value, as: UTF8.self) }
            })
            if delivered.isSuperset(of: ids) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let missing = ids.subtracting(delivered)
        print("bulk crash test: \(count) pending, killed after \(atKill) messages, \(missing.count) missing after the restart")
        #expect(missing.isEmpty, "never delivered: \(missing.prefix(5))\n\(final.log(tail: 20))")
        #expect(final.terminate(), "the relay did not stop on SIGTERM:\n\(final.log(tail: 10))")
        let pending = try await OutboxFile(path: dataDirectory + "/outbox.sqlite").query(
            "SELECT count(*) FROM deliveries d WHERE d.state = 1 OR (d.state = 0 AND d.id > (SELECT delivered_through FROM delivery_cursors))")
        #expect(pending == ["0"])
    }

    /// `count` accepted events for destination `events` (route `all`), appended as the listener would.
    static func backlog(_ count: Int, in directory: String, logger: Logger) async throws -> Set<String> {
        let outbox = try SQLiteOutbox(dataDirectory: directory, logger: logger)
        defer { outbox.close() }
        return try await withThrowingTaskGroup(of: [String].self) { group in
            for lane in 0..<64 {
                group.addTask {
                    var ids: [String] = []
                    for n in stride(from: lane, to: count, by: 64) {
                        let event = NewEvent(
                            id: EventID.make(), source: "sitecore", type: "com.sitecore.cdp.audience-export.notification", subject: nil,
                            dedupeKey: "\(n)", receivedAt: Date(), body: Array(#"{"n":\#(n),"pad":"\#(String(repeating: "x", count: 300))"}"#.utf8),
                            deliveries: [PlannedDelivery(destination: "events", key: "k\(n % 100)", headers: [], route: "all")])
                        ids.append(try await outbox.append(event).id.rawValue)
                    }
                    return ids
                }
            }
            var all = Set<String>()
            for try await ids in group { all.formUnion(ids) }
            return all
        }
    }
}
