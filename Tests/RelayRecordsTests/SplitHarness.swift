// Test helpers: run a RecordSplitter over a body cut into chunks.

@testable import RelayRecords
import RelayTestSupport

/// Everything a splitter produced for one body: its items and the error that stopped it, if any.
struct SplitOutcome: Equatable, CustomStringConvertible {
    var items: [SplitItem] = []
    var error: ExportDataError?

    /// The records' values as text.
    var values: [String] {
        items.compactMap { if case .record(let r) = $0 { return String(decoding: r.value, as: UTF8.self) } else { return nil } }
    }

    /// The records' keys (json-object format).
    var keys: [String?] {
        items.compactMap { if case .record(let r) = $0 { return r.key } else { return nil } }
    }

    /// The records' start lines.
    var lines: [Int] {
        items.compactMap { if case .record(let r) = $0 { return r.line } else { return nil } }
    }

    /// The malformed notes as (line, reason).
    var malformed: [Malformed] {
        items.compactMap { if case .malformed(let line, let reason) = $0 { return Malformed(line: line, reason: reason) } else { return nil } }
    }

    struct Malformed: Equatable {
        var line: Int
        var reason: String
    }

    var description: String {
        let rendered = items.map { item -> String in
            switch item {
            case .record(let r): return "record(line \(r.line), key \(r.key ?? "-")): \(String(decoding: r.value, as: UTF8.self))"
            case .malformed(let line, let reason): return "malformed(line \(line)): \(reason)"
            }
        }
        return (rendered + (error.map { ["error: \($0)"] } ?? [])).joined(separator: "\n")
    }
}

enum SplitHarness {
    /// Splits `body` fed in the given chunk sizes (the last chunk takes the rest).
    static func split(_ format: RecordFormat, _ body: [UInt8], chunkSizes: [Int] = [], limits: RecordLimits = RecordLimits(),
                      csv: CSVDialect = .standard) -> SplitOutcome {
        let splitter = RecordSplitter(format: format, limits: limits, csv: csv)
        var outcome = SplitOutcome()
        var items: [SplitItem] = []
        var offset = 0
        do {
            for size in chunkSizes where offset < body.count {
                let end = min(body.count, offset + size)
                try splitter.feed(Array(body[offset..<end]), into: &items)
                offset = end
            }
            if offset < body.count { try splitter.feed(Array(body[offset...]), into: &items) }
            try splitter.finish(into: &items)
        } catch {
            outcome.error = error
        }
        outcome.items = items
        return outcome
    }

    /// Splits `text` (as UTF-8) in one piece.
    static func split(_ format: RecordFormat, _ text: String, limits: RecordLimits = RecordLimits()) -> SplitOutcome {
        split(format, Array(text.utf8), limits: limits)
    }

    /// Checks that every two-chunk cut and many random small-chunk feedings of `body` give the
    /// same outcome as feeding it whole. Returns a description of the first difference, or nil.
    static func chunkingDifference(_ format: RecordFormat, _ body: [UInt8], limits: RecordLimits = RecordLimits()) -> String? {
        let whole = split(format, body, limits: limits)
        for cut in 0...body.count {
            let outcome = split(format, body, chunkSizes: [cut], limits: limits)
            if outcome != whole { return "cut at \(cut):\n\(outcome)\n--- whole:\n\(whole)" }
        }
        var random = SeededRandom(seed: UInt64(body.count) &* 7919)
        for round in 0..<40 {
            var sizes: [Int] = []
            var total = 0
            while total < body.count {
                let size = Int(random.next() % 7) + 1
                sizes.append(size)
                total += size
            }
            let outcome = split(format, body, chunkSizes: sizes, limits: limits)
            if outcome != whole { return "random round \(round), sizes \(sizes):\n\(outcome)\n--- whole:\n\(whole)" }
        }
        let byteByByte = split(format, body, chunkSizes: Array(repeating: 1, count: body.count), limits: limits)
        if byteByByte != whole { return "byte by byte:\n\(byteByByte)\n--- whole:\n\(whole)" }
        return nil
    }
}

extension SplitItem {
    /// A record item for expectations.
    static func record(_ text: String, key: String? = nil, line: Int) -> SplitItem {
        .record(RawRecord(value: Array(text.utf8), key: key, line: line))
    }
}
