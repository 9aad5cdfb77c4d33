// Format detection: Content-Type, file name and first-byte rules, and format names in configuration.

@testable import RelayRecords
import Testing

@Suite struct FormatDetectorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var contentType: String?
        var fileName: String?
        var body: String
        var expected: RecordFormat?
        var testDescription: String { "\(contentType ?? "-") \(fileName ?? "-") \(body.prefix(20).debugDescription)" }
    }

    static let cases: [Case] = [
        // Content-Type decides first.
        Case(contentType: "application/x-ndjson", fileName: "x.csv", body: "a,b", expected: .jsonLines),
        Case(contentType: "application/jsonl; charset=utf-8", fileName: nil, body: "", expected: .jsonLines),
        Case(contentType: "application/json-seq", fileName: nil, body: "", expected: .jsonLines),
        Case(contentType: "Text/CSV; header=present", fileName: "x.json", body: "[]", expected: .csv),
        // application/json is settled by the bytes.
        Case(contentType: "application/json", fileName: nil, body: "[{\"a\":1}]", expected: .jsonArray),
        Case(contentType: "application/json", fileName: nil, body: "{\"p-1\":{\"a\":1}}", expected: .jsonObjectByKey),
        Case(contentType: "application/json", fileName: nil, body: "{\"a\":1}\n{\"a\":2}\n", expected: .jsonLines),
        Case(contentType: "application/json", fileName: nil, body: "a,b\n1,2\n", expected: nil),
        // Unhelpful types fall through to the file name.
        Case(contentType: "application/octet-stream", fileName: "audience.ndjson.gz", body: "", expected: .jsonLines),
        Case(contentType: "application/gzip", fileName: "/exports/2026/audience.CSV.gz?sig=abc", body: "", expected: .csv),
        Case(contentType: nil, fileName: "https://x.io/a/export.jsonl?token=1#frag", body: "", expected: .jsonLines),
        Case(contentType: nil, fileName: "export.json", body: " \n[", expected: .jsonArray),
        Case(contentType: nil, fileName: "export.json.gzip", body: "{\n  \"p-1\": {", expected: .jsonObjectByKey),
        // First bytes alone.
        Case(contentType: nil, fileName: "export.bin", body: "\u{FEFF}  [", expected: .jsonArray),
        Case(contentType: nil, fileName: nil, body: "{\"a\":1}\r\n{\"a\":2}", expected: .jsonLines),
        Case(contentType: nil, fileName: nil, body: "{\"user\":{\"id\":1}}\n\n{\"user\":{\"id\":2}}", expected: .jsonLines),
        Case(contentType: nil, fileName: nil, body: "{\"p-1\":{\"a\":1},\n\"p-2\":{\"a\":2}}", expected: .jsonObjectByKey),
        Case(contentType: nil, fileName: nil, body: "{\"p\\\"1\" : {", expected: .jsonObjectByKey),
        Case(contentType: nil, fileName: nil, body: "{\"id\":\"p-1\",\"email\":\"a@x.io\"}", expected: .jsonLines),
        Case(contentType: nil, fileName: nil, body: "{\"id\":\"p-1\",\"blob\":\"cut off by the sniff win", expected: .jsonLines),
        // The whole first value decides: keyed only when every member's value is an object.
        Case(contentType: nil, fileName: nil, body: "{}", expected: .jsonObjectByKey),
        Case(contentType: "application/json", fileName: nil, body: " {\n}\n", expected: .jsonObjectByKey),
        Case(contentType: nil, fileName: nil, body: "{\"user\":{\"id\":1},\"email\":\"a@x.io\"}\n", expected: .jsonLines),
        Case(contentType: nil, fileName: "export.json", body: "{\"user\":{\"id\":1},\"tags\":[\"a\"]}", expected: .jsonLines),
        Case(contentType: nil, fileName: nil, body: "{\"p-1\":{\"a\":1},\"p-2\":{\"a\":{\"b\":\"}\"}}}", expected: .jsonObjectByKey),
        Case(contentType: nil, fileName: nil, body: "{\n  \"p-1\": {\"a\": 1},\n  \"p-2\": {\"a\":", expected: .jsonObjectByKey),
        Case(contentType: nil, fileName: nil, body: "{\"p-1\":{\"a\":1},\n\"p-2\":\"x\"", expected: .jsonLines),
        Case(contentType: nil, fileName: nil, body: "{}\n{}\n", expected: .jsonLines),
        Case(contentType: nil, fileName: nil, body: "id,email\n1,a@x.io\n", expected: .csv),
        Case(contentType: nil, fileName: nil, body: "\"id\",\"email\"\r\n", expected: .csv),
        Case(contentType: nil, fileName: nil, body: "just text\nmore, text", expected: nil),
        Case(contentType: nil, fileName: nil, body: "", expected: nil),
        Case(contentType: nil, fileName: "noextension", body: "   \n", expected: nil),
    ]

    @Test(arguments: cases)
    func detects(_ testCase: Case) {
        let format = FormatDetector.detect(contentType: testCase.contentType, fileName: testCase.fileName, firstBytes: Array(testCase.body.utf8))
        #expect(format == testCase.expected)
    }

    @Test func parsesConfigurationNames() {
        #expect(RecordFormat(configName: "jsonl") == .jsonLines)
        #expect(RecordFormat(configName: "NDJSON") == .jsonLines)
        #expect(RecordFormat(configName: "csv") == .csv)
        #expect(RecordFormat(configName: "json-array") == .jsonArray)
        #expect(RecordFormat(configName: "json-object") == .jsonObjectByKey)
        #expect(RecordFormat(configName: "xml") == nil)
        for format in RecordFormat.allCases {
            #expect(RecordFormat(configName: format.configName) == format)
        }
    }

    @Test func extractsFileExtensions() {
        #expect(FormatDetector.fileExtension("a.b.JSONL") == "jsonl")
        #expect(FormatDetector.fileExtension("dir.v2/file") == "")
        #expect(FormatDetector.fileExtension("file.gz") == "")
        #expect(FormatDetector.fileExtension("x.csv.gz") == "csv")
    }
}
