// The SQLite outbox on a real file: durability settings, group commit, dedupe, faults, delivery bookkeeping.
import Foundation
import GRDB
import Logging
import RelayCore
@_spi(Testing) @testable import RelayOutbox
import Synchronization
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

    @Test func cursorRecordsDeliveredRowsAndRowsRecordTheRest() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            for _ in 0..<3 { _ = try await outbox.append(OutboxTestSupport.event(key: "k1")) }
            let queued = try await outbox.queuedDeliveries(destination: "k", afterID: 0, limit: 10)
            #expect(queued.map(\.item.key) == ["k1", "k1", "k1"])
            #expect(queued.allSatisfy { !$0.retrying })
            #expect(queued[0].item.headers == [PlannedDelivery.Header(name: "h", value: "v")])
            let ids = queued.map(\.item.deliveryID)
            let now = Date()
            // ids[0] delivered (the cursor says so), ids[1] dead, ids[2] to be retried.
            try await outbox.record([DeliveryStateChange(deliveryID: ids[1], attempts: 1, outcome: .dead(reason: "HTTP 400: nope")),
                                     DeliveryStateChange(deliveryID: ids[2], attempts: 1,
                                                         outcome: .retry(nextAttemptAt: now.addingTimeInterval(60), error: "timeout"))],
                                    destination: "k", deliveredThrough: ids[2], at: now)
            #expect(try await outbox.deliveredThrough(destination: "k") == ids[2])
            #expect(try await outbox.deliveredThrough(destination: "other") == 0)
            let dead = try await outbox.deadLetters(destination: "k", limit: 10)
            #expect(dead.map(\.deliveryID) == [ids[1]])
            #expect(dead.first?.reason == "HTTP 400: nope")
            #expect(dead.first?.attempts == 1)
            #expect(try await outbox.queuedDeliveries(destination: "k", afterID: ids[2], limit: 10).isEmpty)
            let retrying = try await outbox.retryingDeliveries(destination: "k", afterID: 0, limit: 10)
            #expect(retrying.map(\.item.deliveryID) == [ids[2]])
            #expect(retrying.first?.attempts == 1 && retrying.first?.item.attempt == 2 && retrying.first?.retrying == true)
            var stats = try await outbox.stats(now: now).first
            #expect(stats?.pending == 1 && stats?.dead == 1 && stats?.delivered == 1)

            // A cursor never moves back; replay makes dead rows retrying, only dead ones.
            try await outbox.record([], destination: "k", deliveredThrough: ids[0], at: now)
            #expect(try await outbox.deliveredThrough(destination: "k") == ids[2])
            #expect(try await outbox.replay(deliveryIDs: [ids[1], ids[0]]) == 1)
            #expect(try await outbox.retryingDeliveries(destination: "k", afterID: 0, limit: 10).map(\.item.deliveryID) == [ids[1], ids[2]])

            try await outbox.record([DeliveryStateChange(deliveryID: ids[2], attempts: 2, outcome: .delivered)],
                                    destination: "k", deliveredThrough: nil, at: now)
            stats = try await outbox.stats(now: now).first
            #expect(stats?.pending == 1 && stats?.dead == 0 && stats?.delivered == 2)
            #expect(try await outbox.prune(deliveredBefore: now.addingTimeInterval(1)) == 2)
            stats = try await outbox.stats(now: now).first
            #expect(stats?.pending == 1 && stats?.dead == 0 && stats?.delivered == 0)
        }
    }

    /// The dispatcher's reads go through the partial index of their state, not a walk of the table.
    @Test func dispatcherReadsUseThePartialIndexes() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let plans = try await outbox.database.read { db in
                try [OutboxSchema.State.queued, .retrying].map { state in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + SQLiteOutbox.deliveriesSQL(state: state),
                                     arguments: ["k", 0, 10]).map { $0["detail"] as String }.joined(separator: "; ")
                }
            }
            #expect(plans[0].contains("deliveries_pending"), "\(plans[0])")
            #expect(plans[1].contains("deliveries_retrying"), "\(plans[1])")
        }
    }

    /// Commits are announced once per group commit, after they are durable, naming the destinations that got
    /// rows and whether an export job was recorded; duplicates and replays of nothing announce nothing.
    @Test func commitsAreAnnouncedOncePerGroupWithTheirDestinations() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let heard = Mutex<[CommittedWork]>([])
            outbox.commits.subscribe { work in heard.withLock { $0.append(work) } }
            let first = OutboxTestSupport.event(destinations: ["k", "h"])
            _ = try await outbox.append(first)
            _ = try await outbox.append(OutboxTestSupport.event(dedupe: first.dedupeKey, destinations: ["k", "h"]))
            async let a = outbox.append(OutboxTestSupport.event(destinations: ["x"]))
            async let b = outbox.append(OutboxTestSupport.event(destinations: ["y"]))
            _ = try await (a, b)
            #expect(try await outbox.replay(destination: "k") == 0)
            let works = heard.withLock { $0 }
            #expect(works.first == CommittedWork(destinations: ["k", "h"]))
            #expect(works.dropFirst().reduce(into: Set<String>()) { $0.formUnion($1.destinations) } == ["x", "y"])
            #expect(works.count <= 3, "the duplicate and the empty replay announce nothing: \(works)")
        }
    }

    /// Finding the events to prune reads `deliveries` once per prune (a list subquery), never once per event.
    @Test func pruningEventsReadsDeliveriesOnce() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let plan = try await outbox.database.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + SQLiteOutbox.pruneEventsSQL, arguments: [0, 10])
                    .map { $0["detail"] as String }.joined(separator: "; ")
            }
            #expect(plan.contains("LIST SUBQUERY"), "\(plan)")
            #expect(!plan.contains("CORRELATED"), "\(plan)")
        }
    }

    /// A prune larger than a batch goes through every batch: delivered rows past the retention go, and so do
    /// their events; an event with an export job, one with a dead delivery and those within the retention stay.
    @Test func pruningGoesThroughEveryBatchAndKeepsWhatIsReferencedOrYoung() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let count = SQLiteOutbox.pruneBatch * 2 + 500
            let old = Date().addingTimeInterval(-7_200).timeIntervalSince1970
            let young = Date().timeIntervalSince1970
            try await outbox.database.write { db in
                for n in 0..<count {
                    let at = n >= count - 100 ? young : old
                    try db.execute(sql: "INSERT INTO events (id, source, type, dedupe_key, received_at, body) VALUES (?, 's', 't', ?, ?, X'7B7D')",
                                   arguments: ["e\(n)", "d\(n)", at])
                    try db.execute(sql: """
                        INSERT INTO deliveries (event_id, event_seq, destination, route, state, created_at, next_attempt_at)
                        VALUES (?, last_insert_rowid(), 'k', 'r', ?, ?, ?)
                        """, arguments: ["e\(n)", n == 20 ? OutboxSchema.State.dead.rawValue : OutboxSchema.State.queued.rawValue, at, at])
                }
                try db.execute(sql: "INSERT INTO export_jobs (event_id, next_attempt_at, created_at, updated_at) VALUES ('e10', 0, 0, 0)")
                // Delivered through the first count - 50 rows: the last 50 (young) are pending.
                let through = try Int64.fetchOne(db, sql: "SELECT id FROM deliveries ORDER BY id LIMIT 1 OFFSET ?", arguments: [count - 51])
                try db.execute(sql: "INSERT INTO delivery_cursors (destination, delivered_through) VALUES ('k', ?)", arguments: [through])
            }
            let removed = try await outbox.prune(deliveredBefore: Date().addingTimeInterval(-3_600))
            #expect(removed == count - 100 - 1, "every old delivered row but the dead one")
            let left = try await outbox.database.read { db in
                try String.fetchAll(db, sql: "SELECT id FROM events ORDER BY seq")
            }
            #expect(left == ["e10", "e20"] + (count - 100..<count).map { "e\($0)" })
            let deliveries = try await outbox.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM deliveries") }
            #expect(deliveries == 101)
        }
    }

    /// Prune keeps the foreign keys on for everything else.
    @Test func foreignKeysStayOnAfterAPrune() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            _ = try await outbox.prune(deliveredBefore: Date())
            let on = try await outbox.database.write { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") }
            #expect(on == 1)
        }
    }

    /// The index-only gauges agree with the full statistics on pending, oldest age and dead.
    @Test func pendingStatsAgreeWithTheFullStatistics() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let start = Date()
            for i in 0..<6 { _ = try await outbox.append(OutboxTestSupport.event(at: start.addingTimeInterval(Double(i)))) }
            let ids = try await outbox.queuedDeliveries(destination: "k", afterID: 0, limit: 10).map(\.item.deliveryID)
            try await outbox.record([DeliveryStateChange(deliveryID: ids[0], attempts: 1, outcome: .retry(nextAttemptAt: start, error: "x")),
                                     DeliveryStateChange(deliveryID: ids[1], attempts: 1, outcome: .dead(reason: "y"))],
                                    destination: "k", deliveredThrough: ids[3], at: start)
            let now = start.addingTimeInterval(10)
            let full = try #require(try await outbox.stats(now: now).first)
            let gauges = try await outbox.pendingStats(destinations: ["k", "unused"], now: now)
            #expect(gauges.count == 2)
            #expect(gauges[0].destination == "k" && gauges[0].pending == full.pending && gauges[0].dead == full.dead)
            #expect(gauges[0].oldestPendingAge == full.oldestPendingAge)
            #expect(full.pending == 3 && full.dead == 1 && full.oldestPendingAge == 10)
            #expect(gauges[1].pending == 0 && gauges[1].oldestPendingAge == nil && gauges[1].dead == 0)
        }
    }

    /// Queued rows above the cursor are pending, and the oldest of them gives the age.
    @Test func statsCountQueuedRowsAboveTheCursorAsPending() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let start = Date()
            for i in 0..<4 { _ = try await outbox.append(OutboxTestSupport.event(at: start.addingTimeInterval(Double(i)))) }
            let ids = try await outbox.queuedDeliveries(destination: "k", afterID: 0, limit: 10).map(\.item.deliveryID)
            try await outbox.record([], destination: "k", deliveredThrough: ids[1], at: start)
            let stats = try #require(try await outbox.stats(now: start.addingTimeInterval(10)).first)
            #expect(stats.pending == 2 && stats.delivered == 2 && stats.dead == 0)
            #expect(stats.oldestPendingAge == 8)
        }
    }
}
