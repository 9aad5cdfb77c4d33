// Runs a helper program (kcat, python3) to its end on a thread of its own, so tests never block Swift's cooperative pool.
import Foundation

public enum Subprocess {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `executable` (a path, or a name looked up on PATH) and returns its standard output; killed after `timeout`.
    public static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
                    process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
                    let output = Pipe()
                    process.standardOutput = output
                    process.standardError = FileHandle.nullDevice
                    try process.run()
                    let watchdog = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
                    DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout.components.seconds * 1000)), execute: watchdog)
                    let data = output.fileHandleForReading.readDataToEndOfFile()
                    process.waitForExit()
                    watchdog.cancel()
                    return String(decoding: data, as: UTF8.self)
                })
            }.start()
        }
    }
}

/// Reads an outbox file with python3's sqlite3, independently of the code under test.
public struct OutboxFile: Sendable {
    public let path: String
    public init(path: String) { self.path = path }

    /// Rows of `sql`, columns joined by `|`.
    public func query(_ sql: String) async throws -> [String] {
        let script = "import sqlite3,sys\nfor r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print(*r, sep='|')"
        return try await Subprocess.run("python3", ["-c", script, path, sql]).split(separator: "\n").map(String.init)
    }

    public func eventIDs() async throws -> Set<String> {
        Set(try await query("SELECT id FROM events"))
    }

    /// Stored events in arrival order, with their bodies exactly as stored.
    public func events() async throws -> [(id: String, source: String, body: String)] {
        try await query("SELECT id, source, hex(body) FROM events ORDER BY rowid").map { line in
            let parts = line.split(separator: "|", maxSplits: 2).map(String.init)
            let hex = Array((parts.count > 2 ? parts[2] : "").utf8)
            let bytes = stride(from: 0, to: hex.count - 1, by: 2).compactMap { UInt8(String(decoding: hex[$0...$0 + 1], as: UTF8.self), radix: 16) }
            return (parts[0], parts.count > 1 ? parts[1] : "", String(decoding: bytes, as: UTF8.self))
        }
    }
}

extension Process {
    /// Waits (bounded) until the process has ended, without Foundation's `waitUntilExit` (it spins a run loop
    /// and was seen never to return on Linux when called from a pool thread). Returns false on timeout.
    /// After `true`, `terminationStatus` is safe to read.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(30)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now >= deadline { return false }
            usleep(2_000)
        }
        return true
    }
}
