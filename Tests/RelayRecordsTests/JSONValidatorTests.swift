// JSONValidator: the RFC 8259 grammar, accepted and refused texts with the offset of the problem.

@testable import RelayRecords
import Testing

@Suite struct JSONValidatorTests {
    @Test(arguments: [
        ("{}", JSONValueKind.object),
        ("[]", .array),
        (" {\"a\" : [1, -2.5e+3, 0, 0.0, 1E9, true, false, null, \"x\"]} ", .object),
        ("\"\\u00e9\\uD83D\\uDE00 \\\" \\\\ \\/ \\b\\f\\n\\r\\t\"", .string),
        ("-0", .number),
        ("123.456e-7", .number),
        ("true", .bool),
        ("null", .null),
        ("{\"nested\":{\"deeper\":[{\"x\":[]}]}}", .object),
        ("\"héllo wörld 😀 — long enough to take the eight-byte path\"", .string),
        ("{\"\":\"\"}", .object),
    ])
    func acceptsValidJSON(text: String, kind: JSONValueKind) throws {
        #expect(try JSONValidator.validate(Array(text.utf8)) == kind)
    }

    @Test(arguments: [
        ("", 0, "expected a JSON value, found nothing"),
        ("   ", 3, "expected a JSON value, found only whitespace"),
        ("{\"a\" 1}", 5, "expected ':'"),
        ("{\"a\":1,}", 7, "expected a string key"),
        ("{a:1}", 1, "expected a string key"),
        ("[1,]", 3, "expected a value"),
        ("[1 2]", 3, "expected ',' or ']'"),
        ("{\"a\":1 \"b\":2}", 7, "expected ',' or '}'"),
        ("{\"a\":1", 6, "unexpected end of input, expected ',' or a closing bracket"),
        ("\"abc", 4, "unterminated string"),
        ("\"tab\there\"", 4, "control character in string"),
        ("\"\\x\"", 1, "invalid escape sequence"),
        ("\"\\u12G4\"", 1, "invalid \\u escape"),
        ("01", 1, "invalid number, leading zero"),
        ("-", 1, "invalid number, expected a digit"),
        ("1.", 2, "invalid number, expected a digit after '.'"),
        ("1e+", 3, "invalid number, expected a digit in the exponent"),
        ("+1", 0, "expected a value"),
        ("tru", 0, "invalid literal, expected 'true'"),
        ("nul", 0, "invalid literal, expected 'null'"),
        ("falsy", 0, "invalid literal, expected 'false'"),
        ("{} {}", 3, "unexpected data after the JSON value"),
        ("NaN", 0, "expected a value"),
        ("[1}", 2, "expected ',' or ']'"),
    ])
    func refusesInvalidJSON(text: String, offset: Int, message: String) {
        #expect(throws: JSONSyntaxError(offset: offset, message: message)) {
            try JSONValidator.validate(Array(text.utf8))
        }
    }

    @Test func refusesInvalidUTF8InStrings() {
        let cases: [[UInt8]] = [
            [0x22, 0xC3, 0x22],             // lead byte without continuation
            [0x22, 0xC0, 0x80, 0x22],       // overlong
            [0x22, 0xED, 0xA0, 0x80, 0x22], // UTF-16 surrogate
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], // above U+10FFFF
            [0x22, 0xFF, 0x22],
        ]
        for bytes in cases {
            #expect(throws: JSONSyntaxError(offset: 1, message: "invalid UTF-8 in string")) {
                try JSONValidator.validate(bytes)
            }
        }
    }

    @Test func refusesNonASCIIOutsideStrings() {
        #expect(throws: JSONSyntaxError(offset: 1, message: "expected a value")) {
            try JSONValidator.validate([0x5B, 0xC3, 0xA9, 0x5D])
        }
    }

    @Test func limitsNestingTo64Levels() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try JSONValidator.validate(Array(ok.utf8)) == .array)
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONSyntaxError(offset: 64, message: "nesting deeper than 64 levels")) {
            try JSONValidator.validate(Array(tooDeep.utf8))
        }
        let mixed = String(repeating: "{\"a\":[", count: 32) + "1" + String(repeating: "]}", count: 32)
        #expect(try JSONValidator.validate(Array(mixed.utf8)) == .object)
    }

    @Test func findsEveryKindOfSpecialByteInLongStrings() {
        // A special byte at each position of an eight-byte word after a long plain run.
        for position in 0..<16 {
            var text = "\"" + String(repeating: "a", count: position)
            text += "\u{01}" + String(repeating: "b", count: 10) + "\""
            #expect(throws: JSONSyntaxError(offset: 1 + position, message: "control character in string")) {
                try JSONValidator.validate(Array(text.utf8))
            }
        }
    }
}
