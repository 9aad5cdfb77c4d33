// Event ids: time-ordered (version 7) UUIDs in lowercase text, made without Foundation.
#if canImport(Glibc)
import Glibc
#endif

/// The relay's id of an accepted event (`ce_id`, `webhook-id`, the outbox's key), such as
/// `0193a1f2-7c4e-7a31-9b7a-2d4e6f8a0b1c`.
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

    /// A new id: a version 7 UUID (RFC 9562), the Unix time in milliseconds, then the fraction of the
    /// millisecond in 1/4096ths (its method 3), then 62 random bits from the system's generator
    /// (`getrandom`). Ids made later sort later, so the outbox's unique index on them grows at its
    /// end: random (version 4) ids dirtied one index page per event in every commit, which measured
    /// ~30% of the group-commit writer's time. Foundation's `UUID()` opened `/dev/urandom` on every
    /// call here, which showed up at ~4% of an ingest request.
    package static func make() -> EventID {
        make(unixNanoseconds: currentUnixNanoseconds())
    }

    /// The id for a given time (tests: order across milliseconds).
    package static func make(unixNanoseconds: UInt64) -> EventID {
        let milliseconds = unixNanoseconds / 1_000_000
        let fraction = (unixNanoseconds % 1_000_000) * 4096 / 1_000_000  // 12 bits
        var generator = SystemRandomNumberGenerator()
        let random = generator.next() as UInt64
        let high = milliseconds << 16 | 0x7000 | fraction
        let low = random & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000  // RFC 9562 variant
        var text = [UInt8]()
        text.reserveCapacity(36)
        for (word, shiftBase) in [(high, 0), (low, 8)] {
            for i in 0..<8 {
                let index = shiftBase + i
                if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
                let byte = UInt8(truncatingIfNeeded: word >> (56 - 8 * UInt64(i)))
                text.append(hexDigits[Int(byte >> 4)])
                text.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return EventID(stored: String(decoding: text, as: UTF8.self))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func currentUnixNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
