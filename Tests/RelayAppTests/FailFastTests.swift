// A relay that cannot run ends at once, saying why; one that is told to stop stops within its grace
// period; an outbox that keeps failing is retried with back-off and logged at a bounded rate.
import Foundation
import RelayTestSupport
import Testing

@Suite(.serialized)
struct FailFastTests {
    @Test func aTakenPortEndsTheRelayWithOneClearLine() throws {
        let (socket, port) = try Self.listeningSocket()
        defer { close(socket) }
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let started = ContinuousClock.now
        let (status, output) = try RelayBinary.run(["serve", "--listen", "127.0.0.1:\(port)", "--data-dir", directory,
                                                    "--config", "routes/routes.yaml"], timeout: .seconds(15))
        let elapsed = ContinuousClock.now - started
        #expect(status == 1, "\(output)")
        #expect(elapsed < .seconds(10))
        #expect(output.contains("cannot listen on 127.0.0.1:\(port)"), "\(output)")
        #expect(output.contains("address already in use"), "\(output)")
        #expect(output.utf8.count < 8_192, "output of \(output.utf8.count) bytes")
        // The failure is logged once, as the last line, and nothing complains about cancellation.
        #expect(output.components(separatedBy: "cannot listen").count == 2, "\(output)")
        #expect(!output.contains("CancellationError"), "\(output)")
    }

    @Test func anAddressTheHostDoesNotHaveEndsTheRelay() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 192.0.2.1 (TEST-NET-1) is on no interface here: bind fails, nothing is sent anywhere.
        let (status, output) = try RelayBinary.run(["serve", "--listen", "192.0.2.1:18080", "--data-dir", directory,
                                                    "--config", "routes/routes.yaml"], timeout: .seconds(15))
        #expect(status == 1, "\(output)")
        #expect(output.contains("cannot listen on 192.0.2.1:18080"), "\(output)")
        #expect(output.contains("cannot assign requested address"), "\(output)")
        #expect(output.utf8.count < 8_192)
    }

    @Test func anOutboxThatCannotBeOpenedEndsTheRelay() throws {
        // The data directory is a file: the outbox cannot be created in it.
        let path = Self.temporaryDirectory()
        FileManager.default.createFile(atPath: path, contents: Data("not a directory".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (status, output) = try RelayBinary.run(["serve", "--listen", "127.0.0.1:0", "--data-dir", path,
                                                    "--config", "routes/routes.yaml"], timeout: .seconds(15))
        #expect(status == 1, "\(output)")
        #expect(output.contains("cannot create data directory \(path)"), "\(output)")
        #expect(output.utf8.count < 4_096)
    }

    @Test func aSecondSignalEndsAStuckShutdownAtOnce() async throws {
        let (relay, hang) = try await Self.relayWithAHangingDelivery(grace: "20s")
        defer { close(hang) }
        Foundation.kill(relay.process.processIdentifier, SIGTERM)
        try await Task.sleep(for: .milliseconds(500))
        #expect(relay.process.isRunning, "the first SIGTERM waits for the delivery in flight")
        let started = ContinuousClock.now
        Foundation.kill(relay.process.processIdentifier, SIGTERM)
        let exited = relay.process.waitForExit(timeout: .seconds(5))
        #expect(exited)
        #expect(ContinuousClock.now - started < .seconds(3))
        if exited { #expect(relay.process.terminationStatus == 128 + SIGTERM) }
        if !exited { relay.kill() }
        #expect(relay.log(tail: 5).contains("second signal during shutdown"))
    }

    @Test func sigtermEndsAStuckShutdownWithinTheGracePeriod() async throws {
        let (relay, hang) = try await Self.relayWithAHangingDelivery(grace: "2s")
        defer { close(hang) }
        let started = ContinuousClock.now
        Foundation.kill(relay.process.processIdentifier, SIGTERM)
        let exited = relay.process.waitForExit(timeout: .seconds(15))
        if !exited { relay.kill() }
        #expect(exited, "\(relay.log(tail: 20))")
        // The grace period, then cancellation (or, at worst, the watchdog 5 s later).
        #expect(ContinuousClock.now - started < .seconds(8), "\(relay.log(tail: 20))")
    }

    @Test func outboxReadsThatKeepFailingAreLoggedAtABoundedRateWithLowCPU() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let relay = try await RelayProcess(config: RelayBinary.repositoryRoot.appendingPathComponent("routes/routes.yaml").path,
                                           dataDirectory: directory)
        defer { relay.terminate() }
        // The dispatcher's and the export runner's tables disappear under the running relay: every read fails.
        _ = try await Subprocess.run("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1], timeout=10)
            db.execute("DROP TABLE export_jobs"); db.execute("DROP TABLE deliveries"); db.execute("DROP TABLE delivery_cursors")
            db.commit()
            """, directory + "/outbox.sqlite"])
        try await Task.sleep(for: .seconds(2))
        let linesBefore = relay.logLineCount
        let cpuBefore = try relay.cpuSeconds()
        try await Task.sleep(for: .seconds(5))
        let lines = relay.logLineCount - linesBefore
        let cpu = try relay.cpuSeconds() - cpuBefore
        #expect(relay.process.isRunning)
        // Two destinations and the export runner, each at most about one line a second.
        #expect(lines <= 25, "\(lines) log lines in 5 s:\n\(relay.log(tail: 30))")
        #expect(cpu < 0.5, "\(cpu) s of CPU in 5 s")
        #expect(relay.log(tail: 200).contains("cannot read"), "the failures are reported")
        #expect(relay.terminate(), "SIGTERM still ends it")
    }

    // MARK: - Helpers

    /// A relay whose only destination is an HTTP endpoint that accepts connections and never answers,
    /// with one delivery in flight to it.
    static func relayWithAHangingDelivery(grace: String) async throws -> (RelayProcess, Int32) {
        let (hang, hangPort) = try listeningSocket()
        let directory = temporaryDirectory()
        let config = directory + ".routes.yaml"
        try """
            version: 1
            sources:
              sitecore: {kind: sitecore-export, path: /hooks/sitecore}
            destinations:
              stuck:
                type: http
                url: http://127.0.0.1:\(hangPort)/hook
                timeout: 5m
            routes:
              - {name: all, source: [sitecore], to: [stuck]}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let relay = try await RelayProcess(config: config, dataDirectory: directory, extraArguments: ["--shutdown-grace", grace])
        let body = try Data(contentsOf: RelayBinary.repositoryRoot.appendingPathComponent("routes/examples/sitecore-notification.json"))
        let (status, _) = await relay.post("/hooks/sitecore", body: body)
        #expect(status == 200)
        try await Task.sleep(for: .milliseconds(500))
        return (relay, hang)
    }

    static func listeningSocket() throws -> (Int32, Int) {
        try RelayProcess.loopbackSocket(listening: true)
    }

    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("failfast-\(UUID().uuidString)").path
    }
}

extension RelayProcess {
    var logLineCount: Int {
        ((try? String(contentsOf: logURL, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// User + system CPU time the relay has used so far (from /proc).
    func cpuSeconds() throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)
        // Fields after the command name (which is in parentheses and may contain spaces).
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
