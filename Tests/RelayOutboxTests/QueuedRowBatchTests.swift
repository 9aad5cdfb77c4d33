// Tests of what an append stores, column by column, and of QueuedRowBatch, which copies queued rows out
// of a read for the bulk drain: NULL stays NULL, empty stays empty, bytes stay bytes.
import Foundation
import RelayCore
import RelayOutbox
import Testing

@Suite struct QueuedRowBatchTests {
    /// What one queued row carries, owned (for comparing).
    struct Columns: Equatable {
        var deliveryID: Int64
        var key: [UInt8]?
        var headerText: [UInt8]
        var eventID: [UInt8]
        var source: [UInt8]
        var eventType: [UInt8]
        var subject: [UInt8]?
        var receivedAt: Double
        var body: [UInt8]

        init(_ row: QueuedRow) {
            deliveryID = row.deliveryID
            key = row.key.map(Array.init)
            headerText = Array(row.headerText)
            eventID = Array(row.eventID)
            source = Array(row.source)
            eventType = Array(row.eventType)
            subject = row.subject.map(Array.init)
            receivedAt = row.receivedAt
            body = Array(row.body)
        }
    }

    /// Appends go through SQLite's bind calls directly: a nil subject or key reads back as NULL, an empty
    /// one as empty, and the body byte for byte (non-ASCII and escapes included).
    @Test func appendsStoreEveryColumnAsGiven() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let body = Array(#"{"name":"Zoë \"quoted\"","n":1}"#.utf8)
            let at = Date(timeIntervalSince1970: 1_765_000_000.25)
            let events = [
                NewEvent(id: EventID.make(), source: "sitecore", type: "t.one", subject: nil, dedupeKey: "a", receivedAt: at, body: body,
                         deliveries: [PlannedDelivery(destination: "k", key: nil, headers: [], route: "r")]),
                NewEvent(id: EventID.make(), source: "sitecore", type: "t.two", subject: "", dedupeKey: "b", receivedAt: at, body: body,
                         deliveries: [PlannedDelivery(destination: "k", key: "", headers: [.init(name: "h", value: "v\"")], route: "r")]),
                NewEvent(id: EventID.make(), source: "sitecore", type: "t.three", subject: "s", dedupeKey: "c", receivedAt: at, body: body,
                         deliveries: [PlannedDelivery(destination: "k", key: "key-é", headers: [], route: "r")]),
            ]
            for event in events { _ = try await outbox.append(event) }
            let batch = try await outbox.readQueued(destination: "k", afterID: 0, limit: 10, byteLimit: 1 << 20)
            #expect(batch.count == 3)
            #expect(batch.reachedEnd)
            var rows: [Columns] = []
            _ = batch.visitRows(from: 0) { rows.append(Columns($0)); return true }
            #expect(rows.map(\.eventID) == events.map { Array($0.id.rawValue.utf8) })
            #expect(rows.map(\.subject) == [nil, [], Array("s".utf8)])
            #expect(rows.map(\.key) == [nil, [], Array("key-é".utf8)])
            #expect(rows.map(\.eventType) == [Array("t.one".utf8), Array("t.two".utf8), Array("t.three".utf8)])
            #expect(rows.allSatisfy { $0.body == body && $0.source == Array("sitecore".utf8) && $0.receivedAt == at.timeIntervalSince1970 })
            #expect(rows[1].headerText == Array(#"[["h","v\""]]"#.utf8))
            #expect(rows[0].headerText == Array("[]".utf8))
            // The same event again is a duplicate and adds no row.
            let again = try await outbox.append(events[0])
            #expect(again.duplicate)
            #expect(try await outbox.readQueued(destination: "k", afterID: 0, limit: 10, byteLimit: 1 << 20).count == 3)
        }
    }

    /// A batch hands out its rows from any offset, stops where the visitor stops, and a read stops adding
    /// rows once past its byte limit (the row that crossed it is in, the next one is not).
    @Test func batchesVisitFromAnOffsetAndReadsStopAtTheirByteLimit() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            for n in 0..<5 {
                let body = Array(#"{"n":\#(n),"pad":"\#(String(repeating: "x", count: 1000))"}"#.utf8)
                _ = try await outbox.append(NewEvent(id: EventID.make(), source: "s", type: "t", subject: nil, dedupeKey: "\(n)",
                                                     receivedAt: Date(), body: body,
                                                     deliveries: [PlannedDelivery(destination: "k", key: "k\(n)", headers: [], route: "r")]))
            }
            let all = try await outbox.readQueued(destination: "k", afterID: 0, limit: 10, byteLimit: 1 << 20)
            #expect(all.count == 5 && all.reachedEnd)
            var keys: [String] = []
            let taken = all.visitRows(from: 2) { row in
                keys.append(String(decoding: row.key!, as: UTF8.self))
                return keys.count < 2
            }
            #expect(taken == 1)
            #expect(keys == ["k2", "k3"])

            // Each row is over 1,000 bytes: a 1,500-byte limit takes two rows, and the read is not at the end.
            let limited = try await outbox.readQueued(destination: "k", afterID: 0, limit: 10, byteLimit: 1_500)
            #expect(limited.count == 2)
            #expect(!limited.reachedEnd)
            let rest = try await outbox.readQueued(destination: "k", afterID: limited.deliveryID(at: 1), limit: 10, byteLimit: 1 << 20)
            #expect(rest.count == 3 && rest.reachedEnd)
        }
    }
}

