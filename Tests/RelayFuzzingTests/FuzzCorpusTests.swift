// The fuzz entry points in the suite: the checked-in corpus (seeds and every input a fuzzer once broke) and
// seeded mutations of it keep every invariant; bench/fuzz.sh runs the same entry points under libFuzzer.
import Foundation
import RelayCore
import RelayFuzzing
import RelayTestSupport
import Testing

@Suite struct FuzzCorpusTests {
    /// `fuzz/corpus/NAME` of this checkout, each file's name and bytes, sorted by name.
    static func corpus(_ name: String) -> [(name: String, bytes: [UInt8])] {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/\(name)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().compactMap { file in
            FileManager.default.contents(atPath: dir.appendingPathComponent(file).path).map { (file, Array($0)) }
        }
    }

    @Test func payloadCorpusKeepsEveryInvariant() {
        let inputs = Self.corpus("payload")
        #expect(inputs.count >= 10)
        var accepted = Set<String>(), rejected = Set<String>()
        for input in inputs {
            let report = PayloadFuzzing.check(input.bytes)
            #expect(report.violations.isEmpty, "\(input.name): \(report)")
            for part in report.verdict.split(separator: "; ") {
                let words = part.split(separator: " ")
                guard words.count >= 2 else { continue }
                if words[1] == "200" { accepted.insert(String(words[0])) }
                if words[1] == "422" { rejected.insert(String(words[0])) }
            }
        }
        // The seeds reach both answers for every source of the fuzz table.
        let sources = Set(PayloadFuzzing.table.sources.map(\.name))
        #expect(accepted == sources)
        #expect(rejected == sources)
    }

    @Test func routesCorpusKeepsEveryInvariant() {
        let inputs = Self.corpus("routes")
        #expect(inputs.count >= 8)
        for input in inputs {
            let report = RoutesFuzzing.check(input.bytes)
            #expect(report.violations.isEmpty, "\(input.name): \(report)")
            // The shipped tables (routes/) are among the seeds and must load.
            if ["routes.yaml", "sitecore-export.yaml", "sitecore-fanout.yaml", "adobe-run-status.yaml"].contains(input.name) {
                #expect(report.verdict.hasPrefix("loaded"), "\(input.name): \(report)")
            }
        }
    }

    @Test func mutatedPayloadsKeepEveryInvariant() {
        Self.firstViolation(corpus: "payload", tokens: SeededMutator.jsonTokens, rounds: 3000,
                            show: { "\($0)" }, check: { PayloadFuzzing.check($0) })
    }

    @Test func mutatedRoutingTablesKeepEveryInvariant() {
        Self.firstViolation(corpus: "routes", tokens: SeededMutator.yamlTokens, rounds: 1000,
                            show: { String(decoding: $0, as: UTF8.self) }, check: { RoutesFuzzing.check($0) })
    }

    /// Feeds `rounds` seeded mutations of a corpus to `check` and records the first input that broke an invariant.
    private static func firstViolation(corpus name: String, tokens: [String], rounds: Int,
                                       show: ([UInt8]) -> String, check: ([UInt8]) -> FuzzReport) {
        var mutator = SeededMutator(seed: 20, corpus: corpus(name).map(\.bytes), tokens: tokens)
        for round in 0..<rounds {
            let input = mutator.next()
            let report = check(input)
            if !report.violations.isEmpty {
                Issue.record("round \(round), input \(show(input)): \(report)")
                return
            }
        }
    }
}
