// HTTP-date (RFC 9110 §5.6.7): IMF-fixdate and the two obsolete forms recipients must still accept.
import Foundation

/// Parses an HTTP-date. Hand-written rather than through `DateFormatter`: the grammar is small
/// and fixed (no locale, no time zone but GMT), and a formatter would accept more than HTTP allows.
package enum HTTPDate {
    /// The instant an HTTP-date names: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), or the
    /// obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`)
    /// forms. `now` places RFC 850's two-digit year: one more than 50 years ahead of `now` is
    /// read as the latest past year with the same last two digits. Day names, month names and
    /// `GMT` compare without regard to ASCII case. Nil for anything else.
    package static func parse(_ text: String, now: Date = Date()) -> Date? {
        parse(bytes: Array(text.utf8), now: now)
    }

    /// ``parse(_:now:)`` over the header value's bytes.
    static func parse(bytes: [UInt8], now: Date) -> Date? {
        var scanner = Scanner(bytes)
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
    private static func imfFixdate(_ scanner: inout Scanner) -> Date? {
        guard let parts = dayMonthYearTime(&scanner, separator: UInt8(ascii: " "), yearDigits: 4) else { return nil }
        return date(year: parts.year, month: parts.month, day: parts.day, secondOfDay: parts.time)
    }

    /// `DD-Mon-YY HH:MM:SS GMT`, after the long day name and `", "`; the century is the one that
    /// puts the year at most 50 years ahead of `now`.
    private static func rfc850Date(_ scanner: inout Scanner, now: Date) -> Date? {
        guard let parts = dayMonthYearTime(&scanner, separator: UInt8(ascii: "-"), yearDigits: 2) else { return nil }
        let today = Int((now.timeIntervalSince1970 / 86_400).rounded(.down))
        let currentYear = CivilCalendar.civilDate(daysSinceEpoch: today).year
        var year = currentYear - currentYear % 100 + parts.year
        if year > currentYear + 50 { year -= 100 }
        return date(year: year, month: parts.month, day: parts.day, secondOfDay: parts.time)
    }

    /// The shared shape of the two forms above: `DD<sep>Mon<sep>Y… HH:MM:SS GMT` and the end of input.
    private static func dayMonthYearTime(_ scanner: inout Scanner, separator: UInt8, yearDigits: Int)
        -> (day: Int, month: Int, year: Int, time: Int)? {
        guard let day = scanner.number(digits: 2), scanner.take(separator),
              let month = scanner.month(), scanner.take(separator),
              let year = scanner.number(digits: yearDigits), scanner.take(UInt8(ascii: " ")),
              let time = scanner.timeOfDay(), scanner.take(UInt8(ascii: " ")),
              scanner.letters() == "gmt", scanner.atEnd
        else { return nil }
        return (day, month, year, time)
    }

    /// `Mon DD HH:MM:SS YYYY` with the day padded by a space (`Nov  6`), after the day name and `" "`.
    private static func asctimeDate(_ scanner: inout Scanner) -> Date? {
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

    private static func date(year: Int, month: Int, day: Int, secondOfDay: Int) -> Date? {
        guard (1...12).contains(month), day >= 1, day <= CivilCalendar.daysIn(month: month, year: year) else { return nil }
        let days = CivilCalendar.daysSinceEpoch(year: year, month: month, day: day)
        return Date(timeIntervalSince1970: Double(days) * 86_400 + Double(secondOfDay))
    }

    private static let shortDayNames: Set<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    private static let longDayNames: Set<String> = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    private static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Reads an HTTP-date left to right; names come back lowercased.
    private struct Scanner {
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
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            position += digits
            return value
        }

        /// A three-letter month name as 1...12.
        mutating func month() -> Int? {
            guard let name = letters(), let index = HTTPDate.monthNames.firstIndex(of: name) else { return nil }
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
}
