// CloudEvents 1.0 binary-mode attributes of a delivery (the Kafka sink sends them as `ce_*` headers, HTTP as `ce-*`).
import Foundation

package enum CloudEvents {
    /// `source` attribute for events received on a relay source.
    package static func source(for sourceName: String) -> String { "/audience-relay/sources/\(sourceName)" }

    /// RFC 3339 UTC timestamp with milliseconds, e.g. `2026-11-23T12:01:39.856Z`.
    /// Hand-formatted: this runs once per delivered message, and Foundation's formatter costs far more.
    package static func time(_ date: Date) -> String {
        String(decoding: timeBytes(date), as: UTF8.self)
    }

    /// ``time(_:)`` as UTF-8 bytes (what a Kafka header carries).
    package static func timeBytes(_ date: Date) -> [UInt8] {
        withTimeBytes(secondsSince1970: date.timeIntervalSince1970) { Array($0) }
    }

    /// Calls `body` with ``time(_:)`` of that instant as UTF-8 bytes in a temporary buffer (no allocation:
    /// the bulk drain formats one per message).
    package static func withTimeBytes<Result>(secondsSince1970: Double, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let totalMilliseconds = Int64((secondsSince1970 * 1000).rounded(.down))
        let milliseconds = Int(totalMilliseconds % 1000)
        let seconds = totalMilliseconds / 1000
        let days = Int(seconds / 86_400)
        let secondOfDay = Int(seconds % 86_400)
        let (year, month, day) = CivilCalendar.civilDate(daysSinceEpoch: days)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { out in
            var position = 0
            func digits(_ value: Int, _ width: Int) {
                var divisor = 1
                for _ in 1..<width { divisor *= 10 }
                var rest = value
                while divisor > 0 {
                    out[position] = UInt8(48 + rest / divisor)
                    position += 1
                    rest %= divisor
                    divisor /= 10
                }
            }
            func byte(_ value: UInt8) {
                out[position] = value
                position += 1
            }
            digits(year, 4); byte(45); digits(month, 2); byte(45); digits(day, 2)
            byte(84); digits(secondOfDay / 3600, 2); byte(58); digits(secondOfDay / 60 % 60, 2)
            byte(58); digits(secondOfDay % 60, 2); byte(46); digits(milliseconds, 3); byte(90)
            return body(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: out[0..<position])))
        }
    }

    /// The attributes in a fixed order: specversion, id, source, type, subject (if any), time.
    package static func attributes(of item: DeliveryItem) -> [(name: String, value: String)] {
        var attributes: [(name: String, value: String)] = [
            ("specversion", "1.0"), ("id", item.eventID.rawValue), ("source", source(for: item.source)), ("type", item.eventType),
        ]
        if let subject = item.subject { attributes.append(("subject", subject)) }
        attributes.append(("time", time(item.receivedAt)))
        return attributes
    }
}
