// Body parsing: one pass over the bytes; hostile input is refused with a reason, never crashes.
import Foundation
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
        // Inside a string, and after a complete value.
        #expect(throws: BodyParseError("body is not valid UTF-8")) { try JSONBodyParser.parseObject(Array("{\"a\": \"".utf8) + [0xC3, 0x28] + Array("\"}".utf8)) }
        #expect(throws: BodyParseError("body is not valid UTF-8")) { try JSONBodyParser.parseObject(Array("{} ".utf8) + [0xED, 0xA0, 0x80]) }
    }

    /// Every grammar error names what was wrong and where (1-based byte).
    @Test(arguments: [
        ("{\"a\" 1}", "malformed JSON: unexpected '1' where ':' was expected at byte 6"),
        ("{\"a\": 1,}", "malformed JSON: unexpected '}' where a member name was expected at byte 9"),
        ("{\"a\": [1 2]}", "malformed JSON: unexpected '2' where ',' or ']' was expected at byte 10"),
        ("{\"a\": 01}", "malformed JSON: unexpected '1' where ',' or '}' was expected at byte 8"),
        ("{\"a\": -}", "malformed JSON: a number needs a digit after '-' at byte 7"),
        ("{\"a\": 1.}", "malformed JSON: a number needs a digit after '.' at byte 7"),
        ("{\"a\": 1e}", "malformed JSON: a number needs a digit in its exponent at byte 7"),
        ("{\"a\": 1e999}", "malformed JSON: number 1e999 is out of range at byte 7"),
        ("{\"a\": tru}", "malformed JSON: unexpected 't' where a value was expected at byte 7"),
        ("{\"a\": \"x}", "malformed JSON: unterminated string at byte 7"),
        ("{\"a\": \"\\q\"}", "malformed JSON: invalid string (a control character, a bad escape or a lone surrogate) at byte 7"),
        ("{\"a\": \"\t\"}", "malformed JSON: invalid string (a control character, a bad escape or a lone surrogate) at byte 7"),
        ("{\"a\\ud83dx\": 1}", "malformed JSON: invalid string (a control character, a bad escape or a lone surrogate) at byte 2"),
        ("{\"a\": 1} x", "malformed JSON: unexpected 'x' after the JSON value at byte 10"),
        ("{\"a\": 1", "malformed JSON: unexpected end of input, expected ',' or '}' at byte 8"),
        ("{\"a\":", "malformed JSON: unexpected end of input, expected a value at byte 6"),
        ("{\"a\": 'x'}", "malformed JSON: unexpected ''' where a value was expected at byte 7"),
        ("{\"a\": \u{1}}", "malformed JSON: unexpected byte 0x1 where a value was expected at byte 7"),
    ] as [(String, String)])
    func grammarErrorsSayWhatAndWhere(_ text: String, _ reason: String) {
        #expect(throws: BodyParseError(reason)) { try JSONBodyParser.parseObject(Array(text.utf8)) }
    }

    @Test func valuesDecodeAsFoundationDecodesThem() throws {
        let text = #"{"s": "a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00 é", "n": [0, -0.5, 12.5e2, 1E-2, 123456789012], "t": true, "f": false, "z": null, "o": {"k": {}}, "e": []}"#
        let object = try JSONBodyParser.parseObject(Array(text.utf8))
        #expect(object["s"] == .string("a\"b\\c/d\u{8}\u{C}\n\r\t\u{E9}\u{1F600} é"))
        #expect(object["n"] == .array([.number(0), .number(-0.5), .number(1250), .number(0.01), .number(123_456_789_012)]))
        #expect(object["t"] == .bool(true))
        #expect(object["f"] == .bool(false))
        #expect(object["z"] == .null)
        #expect(object["o"] == .object(["k": .object([:])]))
        #expect(object["e"] == .array([]))
        // Compared with Foundation's parser on the same bytes.
        let foundation = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(foundation["s"] as? String == object["s"]?.stringValue)
        #expect(Set(foundation.keys) == Set(object.keys))
    }

    @Test func aRepeatedNameIsRefusedByName() {
        #expect(throws: BodyParseError(#"member name "a" appears twice in one JSON object; names must be unique"#)) {
            try JSONBodyParser.parseObject(Array(#"{"a": 1, "b": {"a": 2}, "a": 2}"#.utf8))
        }
    }

    @Test func escapedQuotesAndBackslashesBeforeTheClosingQuote() throws {
        #expect(try JSONBodyParser.parseObject(Array(#"{"a": "x\\", "b": "\\\"y"}"#.utf8)) == ["a": .string("x\\"), "b": .string("\\\"y")])
    }
}
