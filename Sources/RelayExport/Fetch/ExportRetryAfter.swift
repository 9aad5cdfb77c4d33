// Retry-After (RFC 9110 §10.2.3) for export hosts: delta-seconds or an IMF-fixdate HTTP-date.

import Foundation

/// Reads an export host's `Retry-After` header as a wait from now.
enum ExportRetryAfter {
    /// Longest wait honoured; a larger value is capped (the poll deadline ends the job anyway).
    static let maxWait: Duration = .seconds(24 * 3600)

    /// The wait `value` asks for, measured from `now`: delta-seconds (`120`) or an IMF-fixdate
    /// (`Wed, 21 Oct 2015 07:28:00 GMT`); a date in the past is zero. Nil for anything else
    /// (the obsolete RFC 850 and asctime date forms included).
    static func parse(_ value: String, now: Date) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        guard let first = text.utf8.first else { return nil }
        if isDigit(first) {
            guard text.utf8.allSatisfy(isDigit) else { return nil }
            guard text.utf8.count <= 9, let seconds = Int64(text) else { return maxWait }
            return min(.seconds(seconds), maxWait)
        }
        guard let date = imfFixdate(text) else { return nil }
        let milliseconds = (date.timeIntervalSince(now) * 1000).rounded(.up)
        guard milliseconds > 0 else { return .zero }
        return min(.milliseconds(Int64(min(milliseconds, 1e12))), maxWait)
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func imfFixdate(_ text: String) -> Date? {
        let fields = text.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0].count == 4, fields[0].hasSuffix(","),
              dayNames.contains(fields[0].dropLast().lowercased()),
              fields[1].count == 2, let day = Int(fields[1]),
              let monthIndex = monthNames.firstIndex(of: fields[2].lowercased()),
              fields[3].count == 4, let year = Int(fields[3]),
              fields[5] == "GMT"
        else { return nil }
        let clock = fields[4].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 && $0.utf8.allSatisfy(isDigit) }),
              let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
              hour < 24, minute < 60, second <= 60
        else { return nil }
        let month = monthIndex + 1
        guard day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        return Date(timeIntervalSince1970: Double(days) * 86_400 + Double(hour * 3600 + minute * 60 + min(second, 59)))
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

    private static let dayNames: Set<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    private static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
