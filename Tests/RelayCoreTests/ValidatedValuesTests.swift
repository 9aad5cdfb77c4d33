// Tests of the validated identifiers: ExecutionRef made only from a UUID, EventID and the ids derived from it.
import Foundation
import RelayCore
import Testing

@Suite struct ValidatedValuesTests {
    @Test(arguments: [
        ("3f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c", true), ("3F1C2B9E-6A5D-4C1E-9B7A-2D4E6F8A0B1C", true),
        ("3f1c2b9e6a5d4c1e9b7a2d4e6f8a0b1c", false), ("3f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1", false),
        ("3f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1g", false), ("", false),
    ])
    func executionRefsAreUUIDs(_ text: String, _ valid: Bool) {
        #expect((ExecutionRef(text) != nil) == valid)
        #expect(ExecutionRef(text)?.rawValue == (valid ? text : nil))
    }

    @Test func derivedEventIDsNameTheirEvent() {
        let id = EventID(stored: "e1")
        #expect(id.derived("2/7").rawValue == "e1/2/7")
        #expect("\(id)" == "e1")
    }
}
