// The SQL of one append: the event (deduplicated by source + dedupe key) and its delivery rows.
import Foundation
import GRDB
import RelayCore

enum EventInsert {
    static func insert(_ event: NewEvent, into db: Database) throws -> AppendResult {
        let insertEvent = try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO events (id, source, type, subject, dedupe_key, received_at, body)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        let receivedAt = event.receivedAt.timeIntervalSince1970
        try insertEvent.execute(arguments: [event.id, event.source, event.type, event.subject, event.dedupeKey,
                                            receivedAt, Data(event.body)])
        if db.changesCount == 0 {
            let original = try String.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM events WHERE source = ? AND dedupe_key = ?"),
                arguments: [event.source, event.dedupeKey])
            return AppendResult(id: original ?? event.id, duplicate: true)
        }
        let insertDelivery = try db.cachedStatement(sql: """
            INSERT INTO deliveries (event_id, destination, route, msg_key, headers, created_at, next_attempt_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        for delivery in event.deliveries {
            try insertDelivery.execute(arguments: [event.id, delivery.destination, delivery.route, delivery.key,
                                                   HeaderCoding.encode(delivery.headers), receivedAt, receivedAt])
        }
        if event.fetchExport {
            try db.cachedStatement(sql: """
                INSERT INTO export_jobs (event_id, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?)
                """).execute(arguments: [event.id, receivedAt, receivedAt, receivedAt])
        }
        return AppendResult(id: event.id, duplicate: false)
    }
}

/// Route-rendered headers are stored as a JSON array of [name, value] pairs.
enum HeaderCoding {
    static func encode(_ headers: [PlannedDelivery.Header]) -> String {
        if headers.isEmpty { return "[]" }
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, h) in headers.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            JSONValue.appendQuoted(h.name, to: &out)
            out.append(UInt8(ascii: ","))
            JSONValue.appendQuoted(h.value, to: &out)
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [PlannedDelivery.Header] {
        if text == "[]" { return [] }
        guard let pairs = try? JSONDecoder().decode([[String]].self, from: Data(text.utf8)) else { return [] }
        return pairs.compactMap { $0.count == 2 ? PlannedDelivery.Header(name: $0[0], value: $0[1]) : nil }
    }
}
