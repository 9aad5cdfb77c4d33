// Structured logs: one JSON object per line on stderr, metadata (event_id, source, ...) as fields.
import Foundation
import Logging
import RelayCore
import Synchronization

package struct JSONLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level
    private let label: String
    private static let output = Mutex<Void>(())

    package init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        var out: [UInt8] = Array("{\"ts\":".utf8)
        JSONString.appendQuoted(Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true)), to: &out)
        out.append(contentsOf: Array(",\"level\":".utf8))
        JSONString.appendQuoted(event.level.rawValue, to: &out)
        out.append(contentsOf: Array(",\"logger\":".utf8))
        JSONString.appendQuoted(label, to: &out)
        out.append(contentsOf: Array(",\"msg\":".utf8))
        JSONString.appendQuoted(event.message.description, to: &out)
        for key in fields.keys.sorted() {
            out.append(UInt8(ascii: ","))
            JSONString.appendQuoted(key, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONString.appendQuoted(fields[key].map { "\($0)" } ?? "", to: &out)
        }
        out.append(contentsOf: Array("}\n".utf8))
        Self.output.withLock { _ in
            out.withUnsafeBytes { bytes in
                guard let base = bytes.baseAddress else { return }
                var offset = 0
                while offset < bytes.count {
                    let written = write(STDERR_FILENO, base + offset, bytes.count - offset)
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
    }
}
