// Event ids: random (version 4) UUIDs in lowercase text, made without Foundation.

/// The relay's id of an accepted event (`ce_id`, `webhook-id`, the outbox's key), such as
/// `3f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c`.
package struct EventID: Hashable, Sendable, CustomStringConvertible {
    package let rawValue: String

    /// An id read back from the outbox (or given by a test).
    package init(stored text: String) {
        rawValue = text
    }

    package var description: String { rawValue }

    /// The id of a message derived from this event (`<id>/<suffix>`: an export's records and framing
    /// events), stable across re-sends so consumers recognise repeats.
    package func derived(_ suffix: String) -> EventID {
        EventID(stored: rawValue + "/" + suffix)
    }

    /// A new id. The bytes come from the system's random generator (`getrandom`); Foundation's `UUID()`
    /// opened `/dev/urandom` on every call here, which showed up at ~4% of an ingest request.
    package static func make() -> EventID {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * i))
            bytes[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * i))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0F)])
        }
        return EventID(stored: String(decoding: text, as: UTF8.self))
    }
}
