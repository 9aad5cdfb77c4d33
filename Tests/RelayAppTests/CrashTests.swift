// kill -9 at random moments while notifications stream in: every acknowledged one is stored and delivered.
import Foundation
import Logging
import RelayKafka
import RelayTestSupport
import Synchronization
import Testing

@Suite(.serialized) struct CrashTests {
    static func notification(_ ref: String) -> Data {
        Data(#"{"apiUrl":"https://x.example/e","audienceExportName":"n","clientKey":"c","definitionType":"FULL_SYNC","executionRef":"\#(ref)","executionType":"SCHEDULED","friendlyId":"crash_\#(ref.prefix(4))","segmentName":"s","status":"SUCCESS"}"#.utf8)
    }

    @Test func acknowledgedNotificationsSurviveSIGKILL() async throws {
        let logger = Logger(label: "crash-test") { _ in SwiftLogNoOpLogHandler() }
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let config = work.appendingPathComponent("routes.yaml").path
        try """
            sources: {sitecore: {kind: sitecore-export, path: /hooks/sitecore}}
            destinations:
              events: {type: kafka, brokers: "\(cluster.bootstrapServers)", topic: crash.events}
            routes: [{name: all, source: sitecore, to: events}]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let dataDirectory = work.appendingPathComponent("data").path

        let tally = Tally()
        var attempted = 0
        for round in 1...4 {
            let relay = try await RelayProcess(config: config, dataDirectory: dataDirectory)
            let killAfter = Duration.milliseconds(Int.random(in: 400...1200))
            tally.sent.store(0, ordering: .relaxed)
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        while !Task.isCancelled {
                            let ref = UUID().uuidString.lowercased()
                            tally.sent.add(1, ordering: .relaxed)
                            let (status, json) = await relay.post("/hooks/sitecore", body: Self.notification(ref))
                            guard status != nil else { return }  // the relay is gone
                            if status == 200, let id = json["id"] as? String { tally.acknowledged.withLock { $0[id] = ref } }
                        }
                    }
                }
                try? await Task.sleep(for: killAfter)
                relay.kill()
                group.cancelAll()
            }
            attempted += tally.sent.load(ordering: .relaxed)
            FileHandle.standardError.write(Data("crash round \(round): killed after \(killAfter), \(tally.acknowledged.withLock { $0.count }) acknowledged so far\n".utf8))
        }

        // A last, clean run delivers whatever was pending when the relay was killed.
        let final = try await RelayProcess(config: config, dataDirectory: dataDirectory)
        let acked = tally.acknowledged.withLock { $0 }
        let reader = try KafkaReader(bootstrapServers: cluster.bootstrapServers, logger: logger)
        var deliveredIDs: [String] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let records = try reader.read(topic: "crash.events", maxMessages: 1_000_000, timeout: .seconds(10))
            deliveredIDs = records.compactMap { record in
                record.headers.first { $0.name == "ce_id" }.map { String(decoding: $0.value, as: UTF8.self) }
            }
            if Set(deliveredIDs).isSuperset(of: acked.keys) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let unique = Set(deliveredIDs)
        let missing = Set(acked.keys).subtracting(unique)
        let stored = try await OutboxFile(path: dataDirectory + "/outbox.sqlite").eventIDs()
        let missingFromOutbox = Set(acked.keys).subtracting(stored)
        print("""
            crash test: \(attempted) posted, \(acked.count) acknowledged (200), \(stored.count) stored, \
            \(deliveredIDs.count) Kafka messages, \(unique.count) distinct event ids, \
            \(deliveredIDs.count - unique.count) redelivered after a kill, \(missing.count) acknowledged but missing
            """)
        #expect(final.terminate(), "the relay did not stop on SIGTERM:\n\(final.log(tail: 10))")
        #expect(final.log(tail: 5).contains("\"msg\":\"stopped\""))
        #expect(acked.count > 0)
        #expect(missingFromOutbox.isEmpty, "acknowledged but not in the outbox: \(missingFromOutbox.prefix(5))")
        #expect(missing.isEmpty, "acknowledged but never delivered: \(missing.prefix(5))\n\(final.log(tail: 20))")
        // Every delivered message is an event the outbox holds (nothing invented, nothing from elsewhere).
        #expect(unique.isSubset(of: stored))
    }
}

/// What the posting tasks saw: event id → executionRef of every 200, and how many posts were sent.
final class Tally: Sendable {
    let acknowledged = Mutex<[String: String]>([:])
    let sent = Atomic<Int>(0)
}
