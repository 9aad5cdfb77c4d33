// Cancelling the relay's ServiceGroup (what happens when one service fails and the group gives up on
// the others) ends every loop promptly, busy or idle, without logging the cancellation as a failure.
import Foundation
import Logging
@testable import RelayApp
import RelayTestSupport
import Synchronization
import Testing

@Suite(.serialized)
struct CancellationTests {
    @Test func cancellingAnIdleRelayEndsEveryLoopQuietly() async throws {
        try await Self.runAndCancel(busy: false)
    }

    @Test func cancellingABusyRelayEndsEveryLoopQuietly() async throws {
        try await Self.runAndCancel(busy: true)
    }

    static func runAndCancel(busy: Bool) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cancel-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logs = CapturingLogHandler.Store()
        let logger = Logger(label: "cancel-test") { _ in CapturingLogHandler(store: logs, logLevel: .debug) }
        var options = ServeOptions(configPath: RelayBinary.repositoryRoot.appendingPathComponent("routes/routes.yaml").path,
                                   dataDirectory: directory, listen: ListenAddress(host: "127.0.0.1", port: 0))
        options.shutdownGracePeriod = .seconds(10)
        let listening = PortBox()
        let runtime = try await RelayRuntime(options: options, logger: logger, onListening: { port in listening.set(port) })
        let run = Task { try await runtime.run(gracefulShutdownSignals: []) }
        let port = try #require(await listening.wait(timeout: .seconds(20)))
        let load = Task {
            guard busy else { return 0 }
            let body = try Data(contentsOf: RelayBinary.repositoryRoot.appendingPathComponent("routes/examples/sitecore-notification.json"))
            let text = String(decoding: body, as: UTF8.self)
            let reference = try #require(text.firstMatch(of: /"executionRef"\s*:\s*"([0-9a-f-]+)"/)?.1)
            var accepted = 0
            while !Task.isCancelled {
                let fresh = text.replacingOccurrences(of: String(reference), with: UUID().uuidString.lowercased())
                if let response = try? await RawHTTPClient(port: port).post("/hooks/sitecore", body: Array(fresh.utf8)), response.status == 200 {
                    accepted += 1
                }
            }
            return accepted
        }
        try await Task.sleep(for: .seconds(busy ? 2 : 1))
        let started = ContinuousClock.now
        run.cancel()
        let ended = await withTaskGroup(of: Bool.self) { group in
            group.addTask { _ = try? await run.value; return true }
            group.addTask { try? await Task.sleep(for: .seconds(10)); return false }
            defer { group.cancelAll() }
            return await group.next() ?? false
        }
        load.cancel()
        let accepted = try await load.value
        #expect(ended, "the group ended within the grace period")
        #expect(ContinuousClock.now - started < .seconds(5))
        if busy { #expect(accepted > 0, "the relay was busy when it was cancelled") }
        let failures = logs.all.filter { $0.level >= .error }
        #expect(failures.isEmpty, "logged as failures: \(failures.map(\.message))")
        #expect(!logs.all.contains { $0.message.contains("CancellationError") || "\($0.metadata)".contains("CancellationError") })
    }
}

/// The listener's port, once it is bound.
private final class PortBox: Sendable {
    private let port = Mutex<Int?>(nil)

    func set(_ value: Int) { port.withLock { $0 = value } }

    func wait(timeout: Duration) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = port.withLock({ $0 }) { return value }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}
