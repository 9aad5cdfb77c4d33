// Random bodies in every format: the splitters never trap and give the same output for any chunking.

@testable import RelayRecords
import RelayTestSupport
import Testing

@Suite struct SplitterFuzzTests {
    /// Bytes that steer the state machines: structure, quotes, escapes, line ends, a BOM, UTF-8.
    static let alphabet: [[UInt8]] = [
        [0x7B], [0x7D], [0x5B], [0x5D], [0x22], [0x22], [0x2C], [0x2C], [0x3A], [0x5C], [0x0A], [0x0D, 0x0A], [0x0D],
        [0x20], Array("a".utf8), Array("1".utf8), Array("true".utf8), Array("null".utf8), Array("\"k\":".utf8),
        Array("{\"id\":1}".utf8), Array("\"v\"".utf8), [0xC3, 0xA9], [0xEF, 0xBB, 0xBF], [0xFF], Array("\\u00e9".utf8),
    ]

    static func randomBody(_ random: inout SeededRandom, prefix: String) -> [UInt8] {
        var body = Array(prefix.utf8)
        let parts = Int(random.next() % 40)
        for _ in 0..<parts {
            body += alphabet[Int(random.next() % UInt64(alphabet.count))]
        }
        return body
    }

    @Test(arguments: RecordFormat.allCases)
    func randomBodiesSplitTheSameInAnyChunking(format: RecordFormat) {
        var random = SeededRandom(seed: 42)
        let prefixes: [RecordFormat: [String]] = [
            .jsonLines: ["", "{\"a\":1}\n"],
            .csv: ["a,b\n", "\"x\"\r\n"],
            .jsonArray: ["[", "[{\"a\":1},"],
            .jsonObjectByKey: ["{", "{\"k\":{},"],
        ]
        for round in 0..<60 {
            let choices = prefixes[format] ?? [""]
            let body = Self.randomBody(&random, prefix: choices[round % choices.count])
            let limits = RecordLimits(maxRecordBytes: round % 3 == 0 ? 16 : 1 << 20)
            let difference = SplitHarness.chunkingDifference(format, body, limits: limits)
            #expect(difference == nil, "body \(body)")
        }
    }

    @Test func everyRecordIsAValidJSONObject() {
        var random = SeededRandom(seed: 7)
        for format in RecordFormat.allCases {
            for _ in 0..<200 {
                let outcome = SplitHarness.split(format, Self.randomBody(&random, prefix: format == .csv ? "a\n" : ""))
                for case .record(let record) in outcome.items {
                    #expect((try? JSONValidator.validate(record.value)) == .object)
                }
            }
        }
    }
}
