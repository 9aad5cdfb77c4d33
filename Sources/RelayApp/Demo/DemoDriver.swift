// The demo's script, as a service beside the relay and the upstream: wait for both to listen, post the
// notification, watch the topics, record the outcome. Its end shuts the demo's group down gracefully.
import Foundation
import Logging
import RelayCurl
import ServiceLifecycle
import Synchronization

final class DemoDriver: Service, Sendable {
    private let options: DemoOptions
    private let bootstrap: String
    private let upstream: DemoUpstream
    private let relayPorts: AsyncStream<Int>
    private let upstreamPorts: AsyncStream<Int>
    private let logger: Logger
    private let outcome = Mutex(DemoSummary(failure: "the demo did not run"))

    init(options: DemoOptions, bootstrap: String, upstream: DemoUpstream,
         relayPorts: AsyncStream<Int>, upstreamPorts: AsyncStream<Int>, logger: Logger) {
        self.options = options
        self.bootstrap = bootstrap
        self.upstream = upstream
        self.relayPorts = relayPorts
        self.upstreamPorts = upstreamPorts
        self.logger = logger
    }

    /// How the demo went (read after the group has ended).
    var summary: DemoSummary { outcome.withLock { $0 } }

    func run() async throws {
        let summary = await cancelWhenGracefulShutdown { await self.drive() }
        outcome.withLock { $0 = summary }
    }

    private func drive() async -> DemoSummary {
        let deadline = ContinuousClock.now.advanced(by: options.timeout)
        guard let upstreamPort = await Self.first(upstreamPorts), let relayPort = await Self.first(relayPorts) else {
            return DemoSummary(failure: "stopped before the relay and the upstream were listening")
        }
        let executionRef = UUID().uuidString.lowercased()
        let apiURL = "http://127.0.0.1:\(upstreamPort)" + DemoUpstream.exportPath(executionRef: executionRef)
        let relayURL = "http://127.0.0.1:\(relayPort)"
        DemoCommand.say("demo: relay listening on \(relayURL); upstream serving \(options.records) records "
            + "(\(Self.kibibytes(upstream.body.count)) gzip, \(Self.kibibytes(upstream.plainBytes)) JSON Lines) at \(apiURL)")

        let client = CurlClient(configuration: CurlClientConfiguration(maxTotalConnections: 2, workerThreads: 1), logger: logger)
        defer { client.shutdown() }
        let request = HTTPRequestSpec(method: "POST", url: relayURL + DemoRoutes.path,
                                      headers: [("Content-Type", "application/json")],
                                      body: DemoRoutes.notification(executionRef: executionRef, apiURL: apiURL),
                                      totalTimeout: .seconds(10))
        let answer: HTTPResult
        do {
            answer = try await client.execute(request)
        } catch {
            return DemoSummary(failure: "cannot post the notification to \(relayURL)\(DemoRoutes.path): \(error)")
        }
        let answerBody = String(decoding: answer.body, as: UTF8.self)
        guard answer.head.status == 200 else {
            return DemoSummary(failure: "the relay answered the notification with \(answer.head.status): \(answerBody)")
        }
        DemoCommand.say("demo: posted a Sitecore SUCCESS notification (executionRef \(executionRef)) to \(DemoRoutes.path): 200 \(answerBody)")

        let posted = ContinuousClock.now
        var readerLogger = logger
        readerLogger.logLevel = .error
        let watcher = DemoWatcher(bootstrap: bootstrap, expectedRecords: options.records, logger: readerLogger)
        let expected = options.records
        let (tally, lastError) = await withTaskCancellationHandler {
            await watcher.watch(until: deadline) { tally in DemoCommand.say(DemoSummary.progressLine(tally, expectedRecords: expected)) }
        } onCancel: {
            watcher.stop()
        }
        let polls = upstream.answered
        DemoCommand.say("demo: the upstream answered \(polls.notReady) poll(s) with 404 (not ready) and \(polls.ok) with 200")

        var summary = DemoSummary(tally: tally, elapsed: ContinuousClock.now - posted, timeout: options.timeout)
        if !tally.isComplete(expectedRecords: expected) {
            summary.lastError = lastError
            if let failed = tally.failed {
                summary.failure = "the export was dead-lettered: \(failed)"
            } else if Task.isCancelled {
                summary.failure = "interrupted"
            }
        }
        return summary
    }

    private static func first(_ ports: AsyncStream<Int>) async -> Int? {
        for await port in ports { return port }
        return nil
    }

    private static func kibibytes(_ bytes: Int) -> String {
        "\((bytes + 1023) / 1024) KiB"
    }
}
