// `audience-relay outbox stats|dead|replay`: operators' view of the outbox in a data directory.
import Foundation
import Logging
import RelayOutbox

package enum OutboxCommands {
    static func open(_ dataDirectory: String) throws -> SQLiteOutbox {
        guard FileManager.default.fileExists(atPath: (dataDirectory as NSString).appendingPathComponent(SQLiteOutbox.fileName)) else {
            throw RelayStartupError(message: "no outbox in \(dataDirectory) (expected \(SQLiteOutbox.fileName)); pass --data-dir")
        }
        var logger = Logger(label: "outbox")
        logger.logLevel = .error
        return try SQLiteOutbox(dataDirectory: dataDirectory, logger: logger)
    }

    package static func stats(dataDirectory: String) async throws -> String {
        let outbox = try open(dataDirectory)
        defer { outbox.close() }
        let stats = try await OutboxAdministration(outbox: outbox).stats().destinations
        if stats.isEmpty { return "no deliveries in \(dataDirectory)" }
        var lines = [pad(["DESTINATION", "PENDING", "OLDEST PENDING", "DEAD", "DELIVERED"])]
        for s in stats {
            lines.append(pad([s.destination, "\(s.pending)", s.oldestPendingSeconds.map { String(format: "%.1fs", $0) } ?? "-", "\(s.dead)", "\(s.delivered)"]))
        }
        return lines.joined(separator: "\n")
    }

    package static func dead(dataDirectory: String, destination: String?, limit: Int) async throws -> String {
        let outbox = try open(dataDirectory)
        defer { outbox.close() }
        let letters = try await OutboxAdministration(outbox: outbox).deadLetters(destination: destination, limit: limit)
        if letters.isEmpty { return "no dead letters" + (destination.map { " for \($0)" } ?? "") }
        var lines = [pad(["ID", "DESTINATION", "EVENT", "ATTEMPTS", "REASON"])]
        for letter in letters {
            lines.append(pad(["\(letter.deliveryID)", letter.destination, letter.eventID, "\(letter.attempts)", letter.reason]))
        }
        return lines.joined(separator: "\n")
    }

    package static func replay(dataDirectory: String, ids: [Int64], destination: String?) async throws -> String {
        let outbox = try open(dataDirectory)
        defer { outbox.close() }
        let count = try await OutboxAdministration(outbox: outbox).replay(ids: ids, destination: destination)
        return "re-queued \(count) dead deliver\(count == 1 ? "y" : "ies")"
    }

    static func pad(_ columns: [String]) -> String {
        let widths = [12, 24, 38, 9]
        return columns.enumerated().map { index, text in
            index < columns.count - 1 && index < widths.count ? text.padding(toLength: max(widths[index], text.count + 1), withPad: " ", startingAt: 0) : text
        }.joined()
    }
}
