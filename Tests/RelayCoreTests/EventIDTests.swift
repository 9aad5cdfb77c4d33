// Tests of EventID: random version-4 UUIDs in lowercase text.
import Foundation
import RelayCore
import Testing

@Suite struct EventIDTests {
    /// Version 4, RFC 4122 variant, lowercase, and no two alike.
    @Test func idsAreRandomVersionFourUUIDs() {
        let ids = (0..<2000).map { _ in EventID.make().rawValue }
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
