// JSON array splitting: elements verbatim, bad elements as malformed, broken punctuation as errors.

@testable import RelayRecords
import Testing

@Suite struct JSONArraySplitterTests {
    @Test func splitsElementsVerbatim() {
        let body = "[\n  {\"id\":1, \"s\":\"a]}\\\"[{\"},\n  { \"id\" : 2 , \"n\": {\"deep\":[1,{}]} }\n]\n"
        let outcome = SplitHarness.split(.jsonArray, body)
        #expect(outcome.error == nil)
        #expect(outcome.items == [
            .record("{\"id\":1, \"s\":\"a]}\\\"[{\"}", line: 2),
            .record("{ \"id\" : 2 , \"n\": {\"deep\":[1,{}]} }", line: 3),
        ])
    }

    @Test func emptyArrayAndEmptyBodyHaveNoRecords() {
        #expect(SplitHarness.split(.jsonArray, " [ ] ") == SplitOutcome())
        #expect(SplitHarness.split(.jsonArray, "") == SplitOutcome())
    }

    @Test func reportsNonObjectAndInvalidElementsAndContinues() {
        let body = "[1, \"s\", [2], null, {\"a\":1 \"b\":2}, {\"ok\":true}, true]"
        let outcome = SplitHarness.split(.jsonArray, body)
        #expect(outcome.error == nil)
        #expect(outcome.items == [
            .malformed(line: 1, reason: "element is a number, not a JSON object"),
            .malformed(line: 1, reason: "element is a string, not a JSON object"),
            .malformed(line: 1, reason: "element is an array, not a JSON object"),
            .malformed(line: 1, reason: "element is null, not a JSON object"),
            .malformed(line: 1, reason: "invalid JSON at byte 8 of the element: expected ',' or '}'"),
            .record("{\"ok\":true}", line: 1),
            .malformed(line: 1, reason: "element is a boolean, not a JSON object"),
        ])
    }

    @Test(arguments: [
        ("[{\"a\":1}", 1, "unterminated JSON array: the body ended before its closing ']'"),
        ("[{\"a\":1},", 1, "unterminated JSON array: the body ended before its closing ']'"),
        ("[{\"a\":1", 1, "unterminated JSON array: the body ended before its closing ']'"),
        ("[{\"a\":1} {\"b\":2}]", 1, "expected ',' or ']' after an array element, found '{'"),
        ("[{\"a\":1},]", 1, "',' before ']' in the JSON array"),
        ("[,{\"a\":1}]", 1, "empty element in the JSON array"),
        ("{\"a\":1}", 1, "expected '[' at the start of a JSON array, found '{'"),
        ("[{\"a\":1}]\n\nx", 3, "unexpected 'x' after the end of the JSON array"),
        ("[{\"a\":[1}]", 1, "broken JSON nesting: '}' does not match the open '['"),
    ])
    func refusesBrokenStructure(body: String, line: Int, reason: String) {
        let outcome = SplitHarness.split(.jsonArray, body)
        #expect(outcome.error == ExportDataError(kind: .structure, line: line, reason: reason))
    }

    @Test func keepsRecordsBeforeAStructuralError() {
        let outcome = SplitHarness.split(.jsonArray, "[{\"a\":1},{\"b\":2} x]")
        #expect(outcome.values == ["{\"a\":1}", "{\"b\":2}"])
        #expect(outcome.error?.kind == .structure)
    }

    @Test func skipsOversizedElements() {
        let big = "{\"blob\":\"" + String(repeating: "z", count: 100) + "\",\"n\":[[[]]]}"
        let body = Array("[{\"id\":1},\n\(big),\n{\"id\":2}]".utf8)
        let limits = RecordLimits(maxRecordBytes: 40)
        #expect(SplitHarness.split(.jsonArray, body, limits: limits).items == [
            .record("{\"id\":1}", line: 1),
            .malformed(line: 2, reason: "record is longer than 40 bytes; skipped"),
            .record("{\"id\":2}", line: 3),
        ])
        #expect(SplitHarness.chunkingDifference(.jsonArray, body, limits: limits) == nil)
    }

    @Test func sameOutputForEveryChunking() {
        let body = Array("\u{FEFF} [ {\"id\":1,\"s\":\"x\\\\\\\"]},[\"},\r\n{\"id\":2,\"u\":\"\\u00e9 é\"} , 42 ,\n{\"deep\":{\"a\":[{\"b\":{}}]}},\n\"str\", {\"last\":null} ]\n".utf8)
        #expect(SplitHarness.chunkingDifference(.jsonArray, body) == nil)
        #expect(SplitHarness.split(.jsonArray, body).values.count == 4)
        let broken = Array("[{\"a\":1}, {\"b\":[2}]".utf8)
        #expect(SplitHarness.chunkingDifference(.jsonArray, broken) == nil)
    }
}
