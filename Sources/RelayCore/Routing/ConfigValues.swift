// Parsing of the small value syntaxes used in config: durations (`250ms`, `10s`, `5m`, `24h`) and sizes (`1MiB`).
import Foundation

package enum ConfigValues {
    /// `250ms`, `10s`, `5m`, `24h`, `2d`, or a bare number of seconds.
    package static func duration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if suffix == "s", number.hasSuffix("m") { continue }
            guard let value = Double(number), value >= 0 else { return nil }
            return milliseconds(value * scale * 1000)
        }
        guard let seconds = Double(text), seconds >= 0 else { return nil }
        return milliseconds(seconds * 1000)
    }

    /// nil when `value` (`1e39s`, `inf`) is not a whole number of milliseconds that fits in Int64 once rounded.
    private static func milliseconds(_ value: Double) -> Duration? {
        Int64(exactly: value.rounded()).map { .milliseconds($0) }
    }

    /// `1048576`, `64KiB`, `1MiB`, `2MB` and so on.
    package static func byteSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Int(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), value >= 0 else { return nil }
            let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
            return overflow ? nil : bytes
        }
        guard let value = Int(text), value >= 0 else { return nil }
        return value
    }
}

