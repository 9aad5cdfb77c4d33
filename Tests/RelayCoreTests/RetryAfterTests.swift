// Retry-After and HTTP-date parsing: delta-seconds, the three date forms, caps, rounding, and what is refused.
import Foundation
import RelayCore
import Testing

@Suite struct RetryAfterTests {
    /// Sun, 06 Nov 1994 08:49:37 GMT.
    static let now = Date(timeIntervalSince1970: 784_111_777)
    static let aMinuteEarlier = Date(timeIntervalSince1970: 784_111_777 - 60)
    static let day: Duration = .seconds(24 * 3600)

    static let deltaSecondsTable: [(String, Duration)] = [
        ("120", .seconds(120)), (" 0 ", .zero), ("\t5\t", .seconds(5)), ("0", .zero),
        ("2147483647", .seconds(RetryAfter.maxDeltaSeconds)),
        ("99999999999999999999999", .seconds(RetryAfter.maxDeltaSeconds)),
    ]

    @Test(arguments: deltaSecondsTable)
    func deltaSeconds(_ value: String, _ expected: Duration) {
        #expect(RetryAfter.parse(value, now: Self.now) == expected)
    }

    static let formsTable = [
        "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
        "sun, 06 nov 1994 08:49:37 gmt", "SUNDAY, 06-NOV-94 08:49:37 GMT",
    ]

    @Test(arguments: formsTable)
    func allThreeHTTPDateForms(_ value: String) {
        #expect(RetryAfter.parse(value, now: Self.aMinuteEarlier) == .seconds(60))
    }

    static let datesTable: [(String, TimeInterval)] = [
        ("Thu, 29 Feb 2024 23:59:59 GMT", 1_709_251_199),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 1_445_412_480),
        ("Fri, 31 Dec 1999 23:59:60 GMT", 946_684_799),
        ("Sat Jan  1 00:00:00 2000", 946_684_800),
    ]

    @Test(arguments: datesTable)
    func httpDates(_ value: String, _ seconds: TimeInterval) {
        #expect(HTTPDate.parse(value) == Date(timeIntervalSince1970: seconds))
    }

    @Test func aDateInThePastMeansNow() {
        #expect(RetryAfter.parse("Sat, 05 Nov 1994 08:49:37 GMT", now: Self.now) == .zero)
    }

    @Test func fractionsOfASecondRoundUpToMilliseconds() {
        let justBefore = Date(timeIntervalSince1970: 784_111_777 - 1.5)
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: justBefore) == .milliseconds(1500))
    }

    @Test func rfc850YearsMoreThanFiftyYearsAheadAreInThePastCentury() {
        let in2026 = Date(timeIntervalSince1970: 1_763_900_000)
        #expect(HTTPDate.parse("Friday, 01-Jan-27 00:00:00 GMT", now: in2026) == Date(timeIntervalSince1970: 1_798_761_600))
        #expect(HTTPDate.parse("Monday, 01-Jan-90 00:00:00 GMT", now: in2026) == Date(timeIntervalSince1970: 631_152_000))
    }

    /// The export fetcher's cap (a day): both forms are capped, smaller waits pass unchanged.
    static let cappedTable: [(String, Duration)] = [
        ("120", .seconds(120)), ("86401", day), ("99999999999", day),
        ("Sun, 06 Nov 1994 08:50:37 GMT", .seconds(60)), ("Mon, 07 Nov 1994 08:49:37 GMT", .seconds(86_400)),
        ("Tue, 08 Nov 1994 08:49:37 GMT", day), ("Sat, 05 Nov 1994 08:49:37 GMT", .zero),
    ]

    @Test(arguments: cappedTable)
    func theCallersCapApplies(_ value: String, _ expected: Duration) {
        #expect(RetryAfter.parse(value, now: Self.now, cap: Self.day) == expected)
    }

    @Test(arguments: [
        "", "  ", "-5", "-1", "+5", "1.5", "12a", "soon", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
        "Fun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Xyz 1994 08:49:37 GMT", "Sun, 29 Feb 1900 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT trailing", "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994",
        "Sun, +6 Nov 1994 08:49:37 GMT", "Sun,  06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37\u{00A0}GMT",
        "\u{00A0}120", "Sunday, 06 Nov 1994 08:49:37 GMT", "Sun, 06-Nov-94 08:49:37 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
        "Wed, 31 Feb 2015 07:28:00 GMT",
    ])
    func rejectsAnythingElse(_ value: String) {
        #expect(RetryAfter.parse(value, now: Self.now) == nil)
    }
}
