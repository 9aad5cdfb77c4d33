// JSON object-by-key splitting: one record per member with its decoded key and the key's line.

@testable import RelayRecords
import Testing

@Suite struct JSONObjectByKeySplitterTests {
    @Test func splitsMembersWithTheirKeys() {
        let body = "{\n  \"p-1\": {\"email\":\"a@x.io\"},\n  \"p-2\" :\n    { \"email\" : \"b@x.io\" }\n}\n"
        let outcome = SplitHarness.split(.jsonObjectByKey, body)
        #expect(outcome.error == nil)
        #expect(outcome.items == [
            .record("{\"email\":\"a@x.io\"}", key: "p-1", line: 2),
            .record("{ \"email\" : \"b@x.io\" }", key: "p-2", line: 3),
        ])
    }

    @Test func decodesEscapedKeys() {
        let outcome = SplitHarness.split(.jsonObjectByKey, "{\"a\\\"b\\u00e9\\uD83D\\uDE00\":{}}")
        #expect(outcome.keys == ["a\"bé😀"])
    }

    @Test func reportsNonObjectValuesAndBadKeysAndContinues() {
        let body = "{\"a\":1,\"b\":[{}],\"c\":{\"x\":},\"bad\\q\":{},\"d\":{\"ok\":1}}"
        let outcome = SplitHarness.split(.jsonObjectByKey, body)
        #expect(outcome.error == nil)
        #expect(outcome.items == [
            .malformed(line: 1, reason: "value of key \"a\" is a number, not a JSON object"),
            .malformed(line: 1, reason: "value of key \"b\" is an array, not a JSON object"),
            .malformed(line: 1, reason: "invalid JSON at byte 6 of the value of key \"c\": expected a value"),
            .malformed(line: 1, reason: "key is not a valid JSON string"),
            .record("{\"ok\":1}", key: "d", line: 1),
        ])
    }

    @Test func emptyObjectAndEmptyBodyHaveNoRecords() {
        #expect(SplitHarness.split(.jsonObjectByKey, "{ }") == SplitOutcome())
        #expect(SplitHarness.split(.jsonObjectByKey, " \n") == SplitOutcome())
    }

    @Test(arguments: [
        ("{\"a\":{}", 1, "unterminated JSON object: the body ended before its closing '}'"),
        ("{\"a\"", 1, "unterminated JSON object: the body ended before its closing '}'"),
        ("{\"a\" {}}", 1, "expected ':' after a key in the JSON object, found '{'"),
        ("{\"a\":{},}", 1, "',' before '}' in the JSON object"),
        ("{a:{}}", 1, "expected a string key in the JSON object, found 'a'"),
        ("{\"a\":,}", 1, "missing value after a key in the JSON object"),
        ("{\"a\":{} \"b\":{}}", 1, "expected ',' or '}' after a member value, found '\"'"),
        ("[{}]", 1, "expected '{' at the start of a JSON object, found '['"),
        ("{}\n}", 2, "unexpected '}' after the end of the JSON object"),
    ])
    func refusesBrokenStructure(body: String, line: Int, reason: String) {
        #expect(SplitHarness.split(.jsonObjectByKey, body).error == ExportDataError(kind: .structure, line: line, reason: reason))
    }

    @Test func skipsOversizedValues() {
        let big = "{\"blob\":\"" + String(repeating: "z", count: 100) + "\"}"
        let body = Array("{\"a\":{\"id\":1},\n\"b\":\(big),\n\"c\":{\"id\":3}}".utf8)
        let limits = RecordLimits(maxRecordBytes: 40)
        #expect(SplitHarness.split(.jsonObjectByKey, body, limits: limits).items == [
            .record("{\"id\":1}", key: "a", line: 1),
            .malformed(line: 2, reason: "record is longer than 40 bytes; skipped"),
            .record("{\"id\":3}", key: "c", line: 3),
        ])
        #expect(SplitHarness.chunkingDifference(.jsonObjectByKey, body, limits: limits) == nil)
    }

    @Test func sameOutputForEveryChunking() {
        let body = Array("\u{FEFF}{\r\n \"p\\\"1\" : {\"s\":\"}{\\\\\"}, \"p-2\":{\"n\":[1,{\"x\":\"]\"}]},\n\"p-3\": 7,\n\"é\":{}\n}\n".utf8)
        #expect(SplitHarness.chunkingDifference(.jsonObjectByKey, body) == nil)
        #expect(SplitHarness.split(.jsonObjectByKey, body).keys == ["p\"1", "p-2", "é"])
    }
}
