// Tests of EventID: time-ordered version-7 UUIDs in lowercase text.
import Foundation
import RelayCore
import Testing

@Suite struct EventIDTests {
    /// Version 7, RFC 9562 variant, lowercase, and no two alike.
    @Test func idsAreVersionSevenUUIDs() {
        let ids = (0..<2000).map { _ in EventID.make().rawValue }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(200) {
            let characters = Array(id)
            #expect(characters.count == 36)
            #expect([8, 13, 18, 23].allSatisfy { characters[$0] == "-" })
            #expect(characters[14] == "7")
            #expect("89ab".contains(characters[19]))
            #expect(id.allSatisfy { "0123456789abcdef-".contains($0) })
            #expect(UUID(uuidString: id) != nil)
        }
    }

    /// The first 48 bits are the Unix time in milliseconds, so the text of a later id sorts after an
    /// earlier one's (what keeps the outbox's index on ids growing at its end).
    @Test func idsCarryTheirTimeAndSortByIt() throws {
        let before = UInt64(Date().timeIntervalSince1970 * 1000)
        let id = EventID.make().rawValue
        let after = UInt64(Date().timeIntervalSince1970 * 1000)
        let hex = id.replacingOccurrences(of: "-", with: "")
        let milliseconds = try #require(UInt64(hex.prefix(12), radix: 16))
        #expect(milliseconds >= before && milliseconds <= after + 1)

        let base: UInt64 = 1_733_500_000_123_000_000
        let times = [base, base + 300_000, base + 1_000_000, base + 1_250_000, base + 86_400_000_000_000]
        let ordered = times.map { EventID.make(unixNanoseconds: $0).rawValue }
        #expect(ordered == ordered.sorted())
        // The same instant twice: same time prefix, random tails that differ.
        let twins = (0..<2).map { _ in EventID.make(unixNanoseconds: base).rawValue }
        #expect(twins[0].prefix(18) == twins[1].prefix(18))
        #expect(twins[0] != twins[1])
    }
}
