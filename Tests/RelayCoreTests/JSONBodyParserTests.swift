// Body parsing: hostile input is refused with a reason, never crashes.
import RelayCore
import Testing

@Suite struct JSONBodyParserTests {
    @Test(arguments: [
        ("{\"a\": [1, {\"b\": null}], \"c\": true, \"d\": \"x\\\"y\"}", nil),
        ("[1]", "must be an object"),
        ("{", "malformed JSON"),
        ("", "empty"),
        (String(repeating: "[", count: 65) + String(repeating: "]", count: 65), "deeper than 64"),
        ("{\"s\": \"" + String(repeating: "[", count: 1000) + "\"}", nil),
        // A repeated name (caught by the fuzz invariant "the stored body reads back as what was validated"): the relay
        // validated the first value, readers of the stored body (JSONSerialization, Python, JavaScript) see the last.
        ("{\"status\": \"PROCESSING\", \"status\": \"SUCCESS\"}", "appears twice"),
        ("{\"a\": 1, \"d\": [{\"b\": 1, \"\\u0062\": 2}]}", "appears twice"),
        ("{\"a\": {\"a\": 1}, \"b\": [{\"a\": 1}, {\"a\": 2}], \"c\": \"x:y\", \"e\": \"\\\":\"}", nil),
    ] as [(String, String?)])
    func parse(_ text: String, _ failure: String?) {
        do {
            let object = try JSONBodyParser.parseObject(Array(text.utf8))
            #expect(failure == nil, "parsed: \(object)")
        } catch {
            #expect(failure.map { error.reason.contains($0) } ?? false, "\(error.reason)")
        }
    }

    @Test func invalidUTF8() {
        #expect(throws: BodyParseError("body is not valid UTF-8")) { try JSONBodyParser.parseObject([0x7B, 0xFF, 0x7D]) }
    }
}
