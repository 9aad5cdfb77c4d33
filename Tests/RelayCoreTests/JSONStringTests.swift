// The one JSON string quoter: escapes, what passes through as it is, SWAR runs, and ill-formed UTF-8.
import Foundation
import RelayCore
import Testing

@Suite struct JSONStringTests {
    static let quotedTable: [(String, String)] = [
        ("", #""""#),
        ("plain", #""plain""#),
        ("say \"hi\"", #""say \"hi\"""#),
        ("back\\slash", #""back\\slash""#),
        ("a\nb\rc\td", #""a\nb\rc\td""#),
        ("\u{08}\u{0C}", #""\b\f""#),
        ("\u{00}\u{01}\u{1F}", #""\u0000\u0001\u001f""#),
        ("\u{7F}/", "\"\u{7F}/\""),
        ("line\u{2028}para\u{2029}", "\"line\u{2028}para\u{2029}\""),
        ("añ✓😀", "\"añ✓😀\""),
        ("0123456789abcdef\"0123456789abcdef", #""0123456789abcdef\"0123456789abcdef""#),
        ("01234567\n", #""01234567\n""#),
        ("0123456\u{1}89abcdef", #""0123456\u000189abcdef""#),
        ("1234567😀1234567", "\"1234567😀1234567\""),
    ]

    @Test(arguments: quotedTable)
    func quotes(_ text: String, _ expected: String) throws {
        #expect(JSONString.quoted(text) == expected)
        var out: [UInt8] = Array("x".utf8)
        JSONString.appendQuoted(text, to: &out)
        #expect(out == Array("x".utf8) + Array(expected.utf8))
        // What it writes is JSON that reads back as the same string.
        let decoded = try JSONSerialization.jsonObject(with: Data(expected.utf8), options: .fragmentsAllowed) as? String
        #expect(decoded == text)
    }

    static let illFormed: [[UInt8]] = [
        [0x80], [0xC0, 0x80], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF],
        Array("01234567".utf8) + [0xC3, 0x28], Array("valid then".utf8) + [0xF0, 0x9F, 0x98],
    ]

    /// Bytes that are not UTF-8 are refused, at any position, instead of being written into JSON.
    @Test(arguments: illFormed)
    func refusesIllFormedUTF8(_ bytes: [UInt8]) {
        var out: [UInt8] = []
        let written = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { JSONString.appendQuoted($0, from: 0, to: buffer.count, to: &out) }
        }
        #expect(written == false)
    }

    @Test func quotesASliceOfTheBytes() {
        let bytes = Array("ab\"cd".utf8)
        var out: [UInt8] = []
        let written = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { JSONString.appendQuoted($0, from: 1, to: 4, to: &out) }
        }
        #expect(written == true)
        #expect(String(decoding: out, as: UTF8.self) == #""b\"c""#)
    }
}
