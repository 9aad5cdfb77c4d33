// JSONFields: scalar lookups by dotted path in record bytes, for Kafka key templates.

@testable import RelayRecords
import Testing

@Suite struct JSONFieldsTests {
    static let record = Array("""
    { "skip": {"profileId": "nested-decoy", "arr": [1, "}", {"x": "]"}]},
      "profileId" : "p-1",
      "identifiers": {"email": "a\\"b@x.io", "phone": null, "ids": [1], "deep": {"n": -1.5e3}},
      "score": 42, "active": false, "esc\\u0061ped": "yes", "uni": "\\u00e9\\ud83d\\ude00",
      "profileId": "second" }
    """.utf8)

    @Test(arguments: [
        ("profileId", "p-1"),
        ("identifiers.email", "a\"b@x.io"),
        ("identifiers.deep.n", "-1.5e3"),
        ("score", "42"),
        ("active", "false"),
        ("escaped", "yes"),
        ("uni", "é😀"),
    ])
    func findsScalars(path: String, expected: String) {
        #expect(JSONFields.scalarText(at: JSONFieldPath(dotted: path), in: Self.record) == expected)
    }

    @Test(arguments: ["missing", "identifiers.phone", "identifiers.ids", "identifiers", "skip", "score.x", "identifiers.missing", "", "skip.profileId.x"])
    func returnsNilForMissingNullAndContainers(path: String) {
        #expect(JSONFields.scalarText(at: JSONFieldPath(dotted: path), in: Self.record) == nil)
    }

    @Test func buildsPathsFromSegments() {
        let path = JSONFieldPath(segments: ["identifiers", "email"])
        #expect(path == JSONFieldPath(dotted: "identifiers.email"))
        #expect(path.description == "identifiers.email")
        #expect(JSONFields.scalarText(at: path, in: Self.record) == "a\"b@x.io")
    }

    @Test func neverReadsPastMalformedInput() {
        let path = JSONFieldPath(dotted: "a.b")
        for text in ["", "{", "[1]", "{\"a\"", "{\"a\":", "{\"a\":{\"b\"", "{\"a\":{\"b\":\"unterminated", "{\"x\":[1,2", "{\"a\" {}}", "{\"x\":\"\\"] {
            #expect(JSONFields.scalarText(at: path, in: Array(text.utf8)) == nil)
        }
        #expect(JSONFields.scalarText(at: path, in: Array("{\"a\":{\"b\":7".utf8)) == "7")
    }

    @Test func readsCSVRecordsToo() {
        let outcome = SplitHarness.split(.csv, "profileId,email\np-9,\"x,y\"\n")
        guard case .record(let record)? = outcome.items.first else {
            Issue.record("expected a record")
            return
        }
        #expect(JSONFields.scalarText(at: JSONFieldPath(dotted: "email"), in: record.value) == "x,y")
    }
}
