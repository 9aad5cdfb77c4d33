// Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, turned into a wait from now.
import Foundation

/// Parses the `Retry-After` response header.
///
/// Hand-written rather than through `DateFormatter`: the grammar is small and fixed (no locale,
/// no time zone but GMT), and a formatter would accept more than HTTP allows.
public enum RetryAfter {
    /// Largest wait a delta-seconds value yields (2³¹−1 s, as RFC 9111 caps overflowing ages).
    public static let maxDeltaSeconds: Int64 = 2_147_483_647

    /// The wait a `Retry-After` value asks for, measured from `now`; nil when the value is
    /// neither delta-seconds (`120`) nor an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, or one of
    /// the two obsolete forms RFC 9110 §5.6.7 still requires recipients to accept). A date in the
    /// past gives zero. Surrounding whitespace is ignored.
    public static func parse(_ value: String, now: Date) -> Duration? {
        let bytes = Array(value.utf8)
        var lower = 0
        var upper = bytes.count
        while lower < upper, isWhitespace(bytes[lower]) { lower += 1 }
        while upper > lower, isWhitespace(bytes[upper - 1]) { upper -= 1 }
        let text = bytes[lower..<upper]
        guard let first = text.first else { return nil }
        if isDigit(first) && text.allSatisfy(isDigit) {
            var seconds: Int64 = 0
            for byte in text {
                seconds = seconds * 10 + Int64(byte - UInt8(ascii: "0"))
                if seconds > maxDeltaSeconds { return .seconds(maxDeltaSeconds) }
            }
            return .seconds(seconds)
        }
        guard let date = httpDate(String(decoding: text, as: UTF8.self), now: now) else { return nil }
        let milliseconds = (date.timeIntervalSince(now) * 1000).rounded(.up)
        return milliseconds > 0 ? .milliseconds(Int64(milliseconds)) : .zero
    }

    /// The instant an HTTP-date names: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), or the
    /// obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`)
    /// forms. `now` places RFC 850's two-digit year: one more than 50 years ahead of `now` is
    /// read as the latest past year with the same last two digits. Nil for anything else.
    public static func httpDate(_ text: String, now: Date = Date()) -> Date? {
        var scanner = HTTPDateScanner(Array(text.utf8))
        guard let dayName = scanner.letters() else { return nil }
        if scanner.take(UInt8(ascii: ",")) {
            guard scanner.take(UInt8(ascii: " ")) else { return nil }
            if shortDayNames.contains(dayName) {
                return imfFixdate(&scanner)
            }
            if longDayNames.contains(dayName) {
                return rfc850Date(&scanner, now: now)
            }
            return nil
        }
        guard shortDayNames.contains(dayName), scanner.take(UInt8(ascii: " ")) else { return nil }
        return asctimeDate(&scanner)
    }

    // MARK: - The three forms

    /// `DD Mon YYYY HH:MM:SS GMT`, after the day name and `", "`.
    private static func imfFixdate(_ scanner: inout HTTPDateScanner) -> Date? {
        guard let day = scanner.number(digits: 2), scanner.take(UInt8(ascii: " ")),
              let month = scanner.month(), scanner.take(UInt8(ascii: " ")),
              let year = scanner.number(digits: 4), scanner.take(UInt8(ascii: " ")),
              let time = scanner.timeOfDay(), scanner.take(UInt8(ascii: " ")),
              scanner.letters() == "gmt", scanner.atEnd
        else { return nil }
        return date(year: year, month: month, day: day, secondOfDay: time)
    }

    /// `DD-Mon-YY HH:MM:SS GMT`, after the long day name and `", "`.
    private static func rfc850Date(_ scanner: inout HTTPDateScanner, now: Date) -> Date? {
        guard let day = scanner.number(digits: 2), scanner.take(UInt8(ascii: "-")),
              let month = scanner.month(), scanner.take(UInt8(ascii: "-")),
              let shortYear = scanner.number(digits: 2), scanner.take(UInt8(ascii: " ")),
              let time = scanner.timeOfDay(), scanner.take(UInt8(ascii: " ")),
              scanner.letters() == "gmt", scanner.atEnd
        else { return nil }
        let currentYear = civilYear(of: now)
        var year = currentYear - currentYear % 100 + shortYear
        if year > currentYear + 50 { year -= 100 }
        return date(year: year, month: month, day: day, secondOfDay: time)
    }

    /// `Mon DD HH:MM:SS YYYY` with the day padded by a space (`Nov  6`), after the day name and `" "`.
    private static func asctimeDate(_ scanner: inout HTTPDateScanner) -> Date? {
        guard let month = scanner.month(), scanner.take(UInt8(ascii: " ")) else { return nil }
        let day: Int?
        if scanner.take(UInt8(ascii: " ")) {
            day = scanner.number(digits: 1)
        } else {
            day = scanner.number(digits: 2)
        }
        guard let day, scanner.take(UInt8(ascii: " ")),
              let time = scanner.timeOfDay(), scanner.take(UInt8(ascii: " ")),
              let year = scanner.number(digits: 4), scanner.atEnd
        else { return nil }
        return date(year: year, month: month, day: day, secondOfDay: time)
    }

    // MARK: - Calendar arithmetic

    private static func date(year: Int, month: Int, day: Int, secondOfDay: Int) -> Date? {
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        return Date(timeIntervalSince1970: Double(days) * 86_400 + Double(secondOfDay))
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to a Gregorian date (Howard Hinnant's days_from_civil).
    private static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The Gregorian year (UTC) of `date` (Howard Hinnant's civil_from_days, year only).
    private static func civilYear(of date: Date) -> Int {
        let z = Int((date.timeIntervalSince1970 / 86_400).rounded(.down)) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        return yearOfEra + era * 400 + (mp >= 10 ? 1 : 0)
    }

    private static let shortDayNames: Set<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    private static let longDayNames: Set<String> = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    fileprivate static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    private static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
    fileprivate static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

/// Reads an HTTP-date left to right; names compare without regard to ASCII case.
private struct HTTPDateScanner {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position == bytes.count }

    mutating func take(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// A run of ASCII letters, lowercased; nil when there is none.
    mutating func letters() -> String? {
        let start = position
        while position < bytes.count, (bytes[position] | 0x20) >= UInt8(ascii: "a"), (bytes[position] | 0x20) <= UInt8(ascii: "z") {
            position += 1
        }
        guard position > start else { return nil }
        return String(decoding: bytes[start..<position].map { $0 | 0x20 }, as: UTF8.self)
    }

    /// Exactly `digits` decimal digits.
    mutating func number(digits: Int) -> Int? {
        guard position + digits <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[position..<position + digits] {
            guard RetryAfter.isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        position += digits
        return value
    }

    /// A three-letter month name as 1...12.
    mutating func month() -> Int? {
        guard let name = letters(), let index = RetryAfter.monthNames.firstIndex(of: name) else { return nil }
        return index + 1
    }

    /// `HH:MM:SS` as seconds since midnight (a leap second 60 counts as 59).
    mutating func timeOfDay() -> Int? {
        guard let hour = number(digits: 2), take(UInt8(ascii: ":")),
              let minute = number(digits: 2), take(UInt8(ascii: ":")),
              let second = number(digits: 2),
              hour < 24, minute < 60, second <= 60
        else { return nil }
        return hour * 3600 + minute * 60 + min(second, 59)
    }
}
