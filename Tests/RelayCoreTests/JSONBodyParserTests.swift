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
