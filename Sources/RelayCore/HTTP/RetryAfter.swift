// Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, turned into a wait from now.
import Foundation

/// Parses the `Retry-After` response header. The one parser for every caller (sinks, the export
/// fetcher, the OAuth2 token source); each passes the longest wait it honours as `cap`.
package enum RetryAfter {
    /// Largest wait a value yields when the caller sets no lower cap (2³¹−1 s, as RFC 9111 caps
    /// overflowing ages).
    package static let maxDeltaSeconds: Int64 = 2_147_483_647

    /// The wait a `Retry-After` value asks for, measured from `now` and capped at `cap`; nil when
    /// the value is neither delta-seconds (`120`) nor an HTTP-date (see ``HTTPDate/parse(_:now:)``).
    /// A date in the past gives zero; a date's fraction of a millisecond rounds up. Surrounding
    /// spaces and tabs (RFC 9110 OWS) are ignored.
    package static func parse(_ value: String, now: Date, cap: Duration = .seconds(maxDeltaSeconds)) -> Duration? {
        let bytes = Array(value.utf8)
        var lower = 0
        var upper = bytes.count
        while lower < upper, isWhitespace(bytes[lower]) { lower += 1 }
        while upper > lower, isWhitespace(bytes[upper - 1]) { upper -= 1 }
        guard lower < upper else { return nil }
        let longest = min(.seconds(maxDeltaSeconds), cap)
        if bytes[lower..<upper].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            var seconds: Int64 = 0
            for byte in bytes[lower..<upper] {
                seconds = seconds * 10 + Int64(byte - UInt8(ascii: "0"))
                if seconds > maxDeltaSeconds { return longest }
            }
            return min(.seconds(seconds), longest)
        }
        guard let date = HTTPDate.parse(bytes: Array(bytes[lower..<upper]), now: now) else { return nil }
        let milliseconds = (date.timeIntervalSince(now) * 1000).rounded(.up)
        guard milliseconds > 0 else { return .zero }
        return min(.milliseconds(Int64(min(milliseconds, Double(maxDeltaSeconds) * 1000))), longest)
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
}
