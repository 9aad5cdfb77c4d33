// JSON Lines splitting: records, blank lines, CRLF, BOM, malformed lines with their numbers, limits.

@testable import RelayRecords
import Testing

@Suite struct JSONLinesSplitterTests {
    @Test func splitsOneObjectPerLine() {
        let outcome = SplitHarness.split(.jsonLines, "{\"id\":1}\n{\"id\":2}\n{\"id\":3}")
        #expect(outcome.error == nil)
        #expect(outcome.items == [.record("{\"id\":1}", line: 1), .record("{\"id\":2}", line: 2), .record("{\"id\":3}", line: 3)])
    }

    @Test func ignoresBlankLinesAndTrimsCRLFAndSpaces() {
        let outcome = SplitHarness.split(.jsonLines, "\r\n  {\"id\":1}  \r\n\r\n\t\n{\"id\":2}\r\n\n")
        #expect(outcome.items == [.record("{\"id\":1}", line: 2), .record("{\"id\":2}", line: 5)])
    }

    @Test func keepsRecordBytesVerbatim() {
        let line = "{ \"name\" : \"Zoë \\u00e9\\n\" , \"n\" : 1.50e3 }"
        #expect(SplitHarness.split(.jsonLines, line + "\n").values == [line])
    }

    @Test func dropsAByteOrderMarkAtTheStart() {
        let body: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("{\"id\":1}\n".utf8)
        #expect(SplitHarness.split(.jsonLines, body).items == [.record("{\"id\":1}", line: 1)])
        #expect(SplitHarness.chunkingDifference(.jsonLines, body) == nil)
    }

    @Test func reportsMalformedLinesAndContinues() {
        let body = """
        {"id":1}
        {"id":2,}
        garbage
        [1,2]
        "text"
        {"id":3
        {"id":4}
        """
        let outcome = SplitHarness.split(.jsonLines, body)
        #expect(outcome.error == nil)
        #expect(outcome.items == [
            .record("{\"id\":1}", line: 1),
            .malformed(line: 2, reason: "invalid JSON at byte 9: expected a string key"),
            .malformed(line: 3, reason: "invalid JSON at byte 1: expected a value"),
            .malformed(line: 4, reason: "record is an array, not a JSON object"),
            .malformed(line: 5, reason: "record is a string, not a JSON object"),
            .malformed(line: 6, reason: "invalid JSON at byte 8: unexpected end of input, expected ',' or a closing bracket"),
            .record("{\"id\":4}", line: 7),
        ])
    }

    @Test func byteOffsetCountsFromTheLineStart() {
        let outcome = SplitHarness.split(.jsonLines, "   {\"a\" 1}\n")
        #expect(outcome.malformed == [.init(line: 1, reason: "invalid JSON at byte 9: expected ':'")])
    }

    @Test func reportsInvalidUTF8AsMalformed() {
        let body = Array("{\"a\":\"".utf8) + [0xFF] + Array("\"}\n{\"b\":1}\n".utf8)
        let outcome = SplitHarness.split(.jsonLines, body)
        #expect(outcome.items == [
            .malformed(line: 1, reason: "invalid JSON at byte 7: invalid UTF-8 in string"),
            .record("{\"b\":1}", line: 2),
        ])
    }

    @Test func skipsOversizedLinesToTheNextRecord() {
        let long = "{\"blob\":\"" + String(repeating: "x", count: 100) + "\"}"
        let body = Array("{\"id\":1}\n\(long)\n{\"id\":2}\n\(long)".utf8)
        let limits = RecordLimits(maxRecordBytes: 64)
        let outcome = SplitHarness.split(.jsonLines, body, limits: limits)
        #expect(outcome.items == [
            .record("{\"id\":1}", line: 1),
            .malformed(line: 2, reason: "record is longer than 64 bytes; skipped"),
            .record("{\"id\":2}", line: 3),
            .malformed(line: 4, reason: "record is longer than 64 bytes; skipped"),
        ])
        #expect(SplitHarness.chunkingDifference(.jsonLines, body, limits: limits) == nil)
    }

    @Test func acceptsJSONTextSequenceSeparators() {
        let body: [UInt8] = [0x1E] + Array("{\"id\":1}\n".utf8) + [0x1E] + Array("{\"id\":2}\n".utf8)
        #expect(SplitHarness.split(.jsonLines, body).values == ["{\"id\":1}", "{\"id\":2}"])
    }

    @Test func emptyBodyHasNoRecords() {
        #expect(SplitHarness.split(.jsonLines, "").items.isEmpty)
        #expect(SplitHarness.split(.jsonLines, "\n\n  \n").items.isEmpty)
    }

    @Test func sameOutputForEveryChunking() {
        let body = Array("\u{FEFF}{\"id\":1,\"name\":\"Zoë\"}\r\n\r\n{\"id\":2,\"tags\":[\"a\",\"b\"]}\nbad line\n{\"id\":3,\"nested\":{\"k\":\"\\\"q\\\"\"}}".utf8)
        #expect(SplitHarness.chunkingDifference(.jsonLines, body) == nil)
    }
}
