// The SQLite outbox on a real file: durability settings, group commit, dedupe, faults, delivery bookkeeping.
import Foundation
import RelayCore
import RelayOutbox
import Testing

@Suite struct SQLiteOutboxTests {
    @Test func walWithFullSynchronous() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let settings = try outbox.durabilitySettings()
            #expect(settings.synchronous == 2)
            #expect(settings.journalMode == "wal")
        }
    }

    @Test func concurrentAppendsShareCommits() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for _ in 0..<500 { group.addTask { try await outbox.append(OutboxTestSupport.event()) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 500)
            #expect(results.allSatisfy { !$0.duplicate })
            #expect(Set(results.map(\.id)).count == 500)
            #expect(outbox.largestCommitGroup > 1, "500 concurrent appends were never grouped")
            let stats = try await outbox.stats(now: Date())
            #expect(stats.map(\.destination) == ["k"])
            #expect(stats.first?.pending == 500)
        }
    }

    @Test func perRequestModeNeverGroups() async throws {
        try await OutboxTestSupport.withOutbox(commitMode: .perRequest) { outbox, _ in
            try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for _ in 0..<50 { group.addTask { try await outbox.append(OutboxTestSupport.event()) } }
                try await group.waitForAll()
            }
            #expect(outbox.largestCommitGroup == 1)
        }
    }

    @Test func duplicateIsAnsweredWithTheOriginalIdAndCreatesNoDeliveries() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let first = try await outbox.append(OutboxTestSupport.event(dedupe: "ref-1", destinations: ["a", "b"]))
            let again = try await outbox.append(OutboxTestSupport.event(dedupe: "ref-1", destinations: ["a", "b"]))
            let otherSource = try await outbox.append(OutboxTestSupport.event(source: "other", dedupe: "ref-1", destinations: ["a"]))
            #expect(!first.duplicate)
            #expect(again == AppendResult(id: first.id, duplicate: true))
            #expect(!otherSource.duplicate)
            let pending = try await outbox.stats(now: Date()).map(\.pending)
            #expect(pending == [2, 1])
        }
    }

    @Test func duplicatesInsideOneCommitGroup() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for _ in 0..<20 { group.addTask { try await outbox.append(OutboxTestSupport.event(dedupe: "same")) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { !$0.duplicate }.count == 1)
            #expect(Set(results.map(\.id)).count == 1)
        }
    }

    @Test func fullDiskFailsTheAppendAndNothingIsHalfWritten() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            _ = try await outbox.append(OutboxTestSupport.event())
            try outbox.limitPageCount(1)
            var big = OutboxTestSupport.event()
            big.body = Array(repeating: UInt8(ascii: "x"), count: 100_000)
            await #expect(throws: StoreUnavailable.self) { try await outbox.append(big) }
            let pending = try await outbox.stats(now: Date()).first?.pending
            #expect(pending == 1)
        }
    }

    @Test func unwritableDataDirectoryIsAClearStartupError() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-dir-\(UUID().uuidString)").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(throws: OutboxOpenError.self) { try SQLiteOutbox(dataDirectory: file, logger: .init(label: "t")) }
    }

    @Test func recordDeadReplayAndPrune() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            for _ in 0..<3 { _ = try await outbox.append(OutboxTestSupport.event(key: "k1")) }
            let pending = try await outbox.pendingDeliveries(destination: "k", afterID: 0, limit: 10)
            #expect(pending.map(\.item.key) == ["k1", "k1", "k1"])
            #expect(pending[0].item.headers == [PlannedDelivery.Header(name: "h", value: "v")])
            let ids = pending.map(\.item.deliveryID)
            let now = Date()
            try await outbox.record([(ids[0], .delivered), (ids[1], .dead(reason: "HTTP 400: nope")),
                                     (ids[2], .retry(nextAttemptAt: now.addingTimeInterval(60), error: "timeout"))], at: now)
            let dead = try await outbox.deadLetters(destination: "k", limit: 10)
            #expect(dead.map(\.deliveryID) == [ids[1]])
            #expect(dead.first?.reason == "HTTP 400: nope")
            #expect(dead.first?.attempts == 1)
            let stillPending = try await outbox.pendingDeliveries(destination: "k", afterID: 0, limit: 10)
            #expect(stillPending.map(\.item.deliveryID) == [ids[2]])
            #expect(stillPending.first?.attempts == 1)
            #expect(stillPending.first?.item.attempt == 2)
            #expect(try await outbox.replay(deliveryIDs: [ids[1], ids[0]]) == 1)
            #expect(try await outbox.pendingDeliveries(destination: "k", afterID: 0, limit: 10).map(\.item.deliveryID) == [ids[1], ids[2]])
            #expect(try await outbox.prune(deliveredBefore: now.addingTimeInterval(1)) == 1)
            let stats = try await outbox.stats(now: now).first
            #expect(stats?.pending == 2 && stats?.dead == 0 && stats?.delivered == 0)
        }
    }
}

@Suite struct HeaderStorageTests {
    /// Route headers survive the round trip through the outbox, whatever characters they carry.
    @Test func headersRoundTrip() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let headers = [PlannedDelivery.Header(name: "a", value: "plain"),
                           PlannedDelivery.Header(name: "quote\"back\\slash", value: "line\nbreak\ttab \u{1} café ✓"),
                           PlannedDelivery.Header(name: "empty", value: "")]
            var event = OutboxTestSupport.event()
            event.deliveries = [PlannedDelivery(destination: "k", key: nil, headers: headers, route: "r")]
            _ = try await outbox.append(event)
            let stored = try await outbox.pendingDeliveries(destination: "k", afterID: 0, limit: 1)
            #expect(stored.first?.item.headers == headers)
        }
    }
}
