// CSV splitting: header to JSON objects, RFC 4180 quoting, line numbers, ragged rows, header errors.

@testable import RelayRecords
import Testing

@Suite struct CSVSplitterTests {
    @Test func turnsRowsIntoObjectsOfStrings() {
        let outcome = SplitHarness.split(.csv, "id,email,score\n1,a@x.io,10\n2,b@x.io,20\n")
        #expect(outcome.error == nil)
        #expect(outcome.items == [
            .record("{\"id\":\"1\",\"email\":\"a@x.io\",\"score\":\"10\"}", line: 2),
            .record("{\"id\":\"2\",\"email\":\"b@x.io\",\"score\":\"20\"}", line: 3),
        ])
    }

    @Test func handlesQuotedFields() {
        let body = "id,note\r\n1,\"say \"\"hi\"\"\"\r\n2,\"a, b\"\r\n3,\"two\r\nlines\"\r\n4,\"x\ny\"\r\n5,\"\"\r\n"
        let outcome = SplitHarness.split(.csv, body)
        #expect(outcome.error == nil)
        #expect(outcome.items == [
            .record("{\"id\":\"1\",\"note\":\"say \\\"hi\\\"\"}", line: 2),
            .record("{\"id\":\"2\",\"note\":\"a, b\"}", line: 3),
            .record("{\"id\":\"3\",\"note\":\"two\\r\\nlines\"}", line: 4),
            .record("{\"id\":\"4\",\"note\":\"x\\ny\"}", line: 6),
            .record("{\"id\":\"5\",\"note\":\"\"}", line: 8),
        ])
    }

    @Test func keepsEmptyFieldsAndTrailingEmptyField() {
        let outcome = SplitHarness.split(.csv, "a,b,c\n,,\n1,,\n1,2,\n")
        #expect(outcome.values == [
            "{\"a\":\"\",\"b\":\"\",\"c\":\"\"}",
            "{\"a\":\"1\",\"b\":\"\",\"c\":\"\"}",
            "{\"a\":\"1\",\"b\":\"2\",\"c\":\"\"}",
        ])
    }

    @Test func reportsRaggedRowsWithTheirLineAndContinues() {
        let body = "id,name\n1,ann\n2,bob,extra\n3\n\"4\",\"multi\nline\",x\n5,eve\n"
        let outcome = SplitHarness.split(.csv, body)
        #expect(outcome.error == nil)
        #expect(outcome.items == [
            .record("{\"id\":\"1\",\"name\":\"ann\"}", line: 2),
            .malformed(line: 3, reason: "row has 3 fields, the header has 2"),
            .malformed(line: 4, reason: "row has 1 fields, the header has 2"),
            .malformed(line: 5, reason: "row has 3 fields, the header has 2"),
            .record("{\"id\":\"5\",\"name\":\"eve\"}", line: 7),
        ])
    }

    @Test func trailingCommaMakesARowRagged() {
        let outcome = SplitHarness.split(.csv, "a,b\n1,2,\n")
        #expect(outcome.malformed == [.init(line: 2, reason: "row has 3 fields, the header has 2")])
    }

    @Test func skipsBlankLinesAndAcceptsAMissingFinalNewline() {
        let outcome = SplitHarness.split(.csv, "a,b\n\n1,2\r\n\r\n3,4")
        #expect(outcome.items == [.record("{\"a\":\"1\",\"b\":\"2\"}", line: 3), .record("{\"a\":\"3\",\"b\":\"4\"}", line: 5)])
    }

    @Test func acceptsLoneCarriageReturnRowEnds() {
        let outcome = SplitHarness.split(.csv, "a,b\r1,2\r3,4\r")
        #expect(outcome.items == [.record("{\"a\":\"1\",\"b\":\"2\"}", line: 2), .record("{\"a\":\"3\",\"b\":\"4\"}", line: 3)])
    }

    @Test func escapesValuesAndNamesForJSON() {
        let outcome = SplitHarness.split(.csv, "na\"me,back\\slash\n\"tab\there\",\"é \u{01}\"\n")
        #expect(outcome.values == ["{\"na\\\"me\":\"tab\\there\",\"back\\\\slash\":\"é \\u0001\"}"])
        for value in outcome.items {
            if case .record(let record) = value { #expect((try? JSONValidator.validate(record.value)) == .object) }
        }
    }

    @Test func keepsAQuoteInsideAnUnquotedFieldLiterally() {
        #expect(SplitHarness.split(.csv, "a\n5\"x\n").values == ["{\"a\":\"5\\\"x\"}"])
    }

    @Test func reportsTextAfterAClosingQuoteAsMalformed() {
        let outcome = SplitHarness.split(.csv, "a,b\n\"x\"y,1\n2,3\n")
        #expect(outcome.items == [
            .malformed(line: 2, reason: "unexpected character after the closing quote of field 1"),
            .record("{\"a\":\"2\",\"b\":\"3\"}", line: 3),
        ])
    }

    @Test func reportsInvalidUTF8RowsAsMalformed() {
        let body = Array("a,b\n1,".utf8) + [0xC3, 0x28] + Array("\n2,3\n".utf8)
        let outcome = SplitHarness.split(.csv, body)
        #expect(outcome.items == [.malformed(line: 2, reason: "row is not valid UTF-8"), .record("{\"a\":\"2\",\"b\":\"3\"}", line: 3)])
    }

    @Test func unterminatedQuoteAtTheEndIsAStructuralError() {
        let outcome = SplitHarness.split(.csv, "a,b\n1,2\n3,\"open\nstill open\n")
        #expect(outcome.values == ["{\"a\":\"1\",\"b\":\"2\"}"])
        #expect(outcome.error == ExportDataError(kind: .structure, line: 3, reason: "unterminated quoted field at the end of the CSV"))
    }

    @Test(arguments: [
        ("a,,c\n1,2,3\n", "CSV header column 2 has an empty name"),
        ("a,b,a\n1,2,3\n", "CSV header names column \"a\" twice"),
        ("a,b,\n1,2,3\n", "CSV header column 3 has an empty name"),
    ])
    func refusesBadHeaders(body: String, reason: String) {
        let outcome = SplitHarness.split(.csv, body)
        #expect(outcome.items.isEmpty)
        #expect(outcome.error == ExportDataError(kind: .structure, line: 1, reason: reason))
    }

    @Test func dropsAByteOrderMarkBeforeTheHeader() {
        let body: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("\"id\",x\n1,2\n".utf8)
        #expect(SplitHarness.split(.csv, body).values == ["{\"id\":\"1\",\"x\":\"2\"}"])
    }

    @Test func keepsALeadingCharacterThatOnlyStartsLikeAByteOrderMark() {
        // U+FEC0 is EF BB 80 in UTF-8: the first two bytes match the mark, the third does not.
        let body = Array("\u{FEC0},b\n1,2\n".utf8)
        #expect(SplitHarness.split(.csv, body).values == ["{\"\u{FEC0}\":\"1\",\"b\":\"2\"}"])
        #expect(SplitHarness.chunkingDifference(.csv, body) == nil)
        // A body of just the first byte of a mark: held back, then split at the end.
        #expect(SplitHarness.split(.csv, [0xEF]).error?.reason == "CSV header column 1 is not valid UTF-8")
    }

    @Test func headerOnlyOrEmptyBodyHasNoRecords() {
        #expect(SplitHarness.split(.csv, "a,b\n").items.isEmpty)
        #expect(SplitHarness.split(.csv, "").items.isEmpty)
        #expect(SplitHarness.split(.csv, "").error == nil)
    }

    @Test func skipsOversizedRows() {
        let body = Array("a,b\n1,\(String(repeating: "x", count: 80))\n2,\"\(String(repeating: "y\n", count: 40))\"\n3,z\n".utf8)
        let limits = RecordLimits(maxRecordBytes: 32)
        let outcome = SplitHarness.split(.csv, body, limits: limits)
        #expect(outcome.items == [
            .malformed(line: 2, reason: "record is longer than 32 bytes; skipped"),
            .malformed(line: 3, reason: "record is longer than 32 bytes; skipped"),
            .record("{\"a\":\"3\",\"b\":\"z\"}", line: 44),
        ])
        #expect(SplitHarness.chunkingDifference(.csv, body, limits: limits) == nil)
    }

    @Test func sameOutputForEveryChunking() {
        let body = Array("\u{FEFF}id,note,x\r\n1,\"say \"\"hi\"\"\",a\r\n2,\"two\r\nlines, with comma\",\r\n\r\n3,plain,\"\"\r\n4,ragged\r\n5,\"x\"y,z\r5,é,ü\n6,\"end\"".utf8)
        #expect(SplitHarness.chunkingDifference(.csv, body) == nil)
        let unterminated = Array("a\n1\n\"open".utf8)
        #expect(SplitHarness.chunkingDifference(.csv, unterminated) == nil)
    }

    /// Semicolons, pipes and tabs split fields like commas; the other characters are data.
    @Test(arguments: [(";", UInt8(ascii: ";")), ("|", UInt8(ascii: "|")), ("tab", UInt8(ascii: "\t"))])
    func otherDelimitersSplitFields(name: String, delimiter: UInt8) {
        let d = String(UnicodeScalar(delimiter))
        let body = "id\(d)note\n1\(d)\"a\(d)b\"\n2\(d)x,y\n"
        let dialect = CSVDialect(delimiter: delimiter, columns: nil)
        for chunk in [1, 3, 1000] {
            let outcome = SplitHarness.split(.csv, Array(body.utf8), chunkSizes: Array(repeating: chunk, count: body.utf8.count), csv: dialect)
            #expect(outcome.error == nil, "\(name)")
            #expect(outcome.items == [
                .record("{\"id\":\"1\",\"note\":\"a\(d == "\t" ? "\\t" : d)b\"}", line: 2),
                .record("{\"id\":\"2\",\"note\":\"x,y\"}", line: 3),
            ], "\(name), chunks of \(chunk)")
        }
    }

    /// A headerless file: the route's columns name the fields and the first row is a record.
    @Test func headerlessFilesUseTheRouteColumns() {
        let dialect = CSVDialect(delimiter: UInt8(ascii: "|"), columns: ["id", "email"])
        let outcome = SplitHarness.split(.csv, Array("1|a@x.io\n2|b@x.io|extra\n3|c@x.io".utf8), csv: dialect)
        #expect(outcome.error == nil)
        #expect(outcome.items == [
            .record("{\"id\":\"1\",\"email\":\"a@x.io\"}", line: 1),
            .malformed(line: 2, reason: "row has 3 fields, the route's export.csv.columns name 2"),
            .record("{\"id\":\"3\",\"email\":\"c@x.io\"}", line: 3),
        ])
    }
}
