// CloudEvents time formatting agrees with Foundation's RFC 3339 formatter across eras and leap days.
import Foundation
import RelayCore
import Testing

@Suite struct CloudEventsTests {
    @Test(arguments: [0.0, 951_782_400.5, 1_709_164_800.875, 1_764_000_000.125, 4_102_444_799.0, 1_582_934_400.25])
    func timeMatchesFoundation(_ seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        let reference = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC") ?? .gmt))
        #expect(CloudEvents.time(date) == reference)
    }

    @Test func attributesInOrder() {
        let item = DeliveryItem(deliveryID: 1, destination: "d", eventID: "e1", source: "sitecore", eventType: "t", subject: "s",
                                receivedAt: Date(timeIntervalSince1970: 0), key: nil, headers: [], body: [], attempt: 1)
        #expect(CloudEvents.attributes(of: item).map(\.name) == ["specversion", "id", "source", "type", "subject", "time"])
        #expect(CloudEvents.attributes(of: item).last?.value == "1970-01-01T00:00:00.000Z")
    }
}

@Suite struct EventIDTests {
    /// Version 4, RFC 4122 variant, lowercase, and no two alike.
    @Test func idsAreRandomVersionFourUUIDs() {
        let ids = (0..<2000).map { _ in EventID.make() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(200) {
            let characters = Array(id)
            #expect(characters.count == 36)
            #expect([8, 13, 18, 23].allSatisfy { characters[$0] == "-" })
            #expect(characters[14] == "4")
            #expect("89ab".contains(characters[19]))
            #expect(id.allSatisfy { "0123456789abcdef-".contains($0) })
            #expect(UUID(uuidString: id) != nil)
        }
    }
}
