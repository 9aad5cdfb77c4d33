// Deterministic libFuzzer-style mutations of a corpus for the suite: a failure reproduces from its seed and round.
import RelayTestSupport

struct SeededMutator {
    private var random: SeededRandom
    let corpus: [[UInt8]]
    let tokens: [[UInt8]]

    init(seed: UInt64, corpus: [[UInt8]], tokens: [String]) {
        random = SeededRandom(seed: seed)
        self.corpus = corpus.isEmpty ? [[]] : corpus
        self.tokens = tokens.map { Array($0.utf8) } + [[0xFF], [0xC3], [0xE2, 0x80, 0xA8], [0x00], [0xF0, 0x9F, 0x98, 0x80]]
    }

    /// Structure and edge values of JSON bodies.
    static let jsonTokens = ["{", "}", "[", "]", "\"", ":", ",", "\\", "\\u", "\\ud83d", "null", "true", "-", "0", "1e999",
                             "-1", "1.5", "18446744073709551616", "\"status\":", "\"details\":[", "\"SUCCESS\"", " ", "\n"]
    /// Structure, tags, anchors and edge values of routing-table YAML.
    static let yamlTokens = [": ", "- ", "\n", "\n  ", "\t", "{", "}", "[", "]", ",", "'", "\"", "#", "|", ">", "&a ", "*a", "!!str ",
                             "<<: ", "---\n", "...", "~", "1e300", "-1", "99999999999999999999", "GiB", "ms", "{{", "}}", "env:",
                             "sources:", "routes:", "destinations:", "match:", "regex: ", "(", "\\"]

    /// A corpus entry changed by one to four mutations.
    mutating func next() -> [UInt8] {
        var bytes = corpus[pick(corpus.count)]
        for _ in 0...pick(4) { mutate(&bytes) }
        return bytes
    }

    private mutating func pick(_ count: Int) -> Int { Int(random.next() % UInt64(max(count, 1))) }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        let at = pick(bytes.count + 1)
        switch pick(6) {
        case 0 where at < bytes.count: // flip a bit
            bytes[at] ^= 1 << UInt8(pick(8))
        case 1: // insert a token
            bytes.insert(contentsOf: tokens[pick(tokens.count)], at: at)
        case 2 where at < bytes.count: // overwrite with a token
            let token = tokens[pick(tokens.count)]
            bytes.replaceSubrange(at..<min(bytes.count, at + token.count), with: token)
        case 3 where at < bytes.count: // delete a range
            bytes.removeSubrange(at..<min(bytes.count, at + 1 + pick(16)))
        case 4 where at < bytes.count: // repeat a range
            let range = at..<min(bytes.count, at + 1 + pick(32))
            bytes.insert(contentsOf: bytes[range], at: range.upperBound)
        default: // splice in part of another entry
            let other = corpus[pick(corpus.count)]
            let from = pick(other.count + 1)
            bytes.insert(contentsOf: other[from..<min(other.count, from + pick(64))], at: at)
        }
    }
}
