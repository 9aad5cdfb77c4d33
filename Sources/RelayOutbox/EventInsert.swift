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
        let eventRow = BoundInsert(insertEvent)
        eventRow.bind(1, event.id.rawValue)
        eventRow.bind(2, event.source)
        eventRow.bind(3, event.type)
        eventRow.bind(4, event.subject)
        eventRow.bind(5, event.dedupeKey)
        eventRow.bind(6, receivedAt)
        eventRow.bindBlob(7, event.body)
        try eventRow.run(in: db)
        if db.changesCount == 0 {
            let original = try String.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM events WHERE source = ? AND dedupe_key = ?"),
                arguments: [event.source, event.dedupeKey])
            return AppendResult(id: original.map(EventID.init(stored:)) ?? event.id, duplicate: true)
        }
        let seq = db.lastInsertedRowID
        let insertDelivery = try db.cachedStatement(sql: """
            INSERT INTO deliveries (event_id, event_seq, destination, route, msg_key, headers, created_at, next_attempt_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for delivery in event.deliveries {
            let row = BoundInsert(insertDelivery)
            row.bind(1, event.id.rawValue)
            row.bind(2, seq)
            row.bind(3, delivery.destination)
            row.bind(4, delivery.route)
            row.bind(5, delivery.key)
            row.bind(6, HeaderCoding.encode(delivery.headers))
            row.bind(7, receivedAt)
            row.bind(8, receivedAt)
            try row.run(in: db)
        }
        if let export = event.export {
            try db.cachedStatement(sql: """
                INSERT INTO export_jobs (event_id, source, route, destinations, execution_ref, api_url,
                                         next_attempt_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [event.id.rawValue, event.source, export.route, ExportJobColumns.encode(export.destinations),
                                         export.executionRef.rawValue, export.apiURL, receivedAt, receivedAt, receivedAt])
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
            JSONString.appendQuoted(h.name, to: &out)
            out.append(UInt8(ascii: ","))
            JSONString.appendQuoted(h.value, to: &out)
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads back what `encode` wrote (hand-parsed: this runs for every delivery the dispatcher loads).
    static func decode(_ text: String) -> [PlannedDelivery.Header] {
        if text == "[]" { return [] }
        var parser = StringListParser(bytes: Array(text.utf8))
        guard let strings = parser.strings() else { return [] }
        return stride(from: 0, to: strings.count - 1, by: 2).map { PlannedDelivery.Header(name: strings[$0], value: strings[$0 + 1]) }
    }
}

/// Collects every JSON string literal of a small array-of-string-pairs document, in order.
private struct StringListParser {
    let bytes: [UInt8]
    var index = 0

    mutating func strings() -> [String]? {
        var result: [String] = []
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\"") {
                guard let string = string() else { return nil }
                result.append(string)
            } else {
                index += 1
            }
        }
        return result
    }

    private mutating func string() -> String? {
        index += 1
        var out: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
                          let scalar = Unicode.Scalar(code) else { return nil }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    index += 4
                default: out.append(escaped)
                }
            default: out.append(byte)
            }
        }
        return nil
    }
}
