// The process's outbound clients — Kafka producers, embedded mock clusters, the libcurl client — as one Service.
import Logging
import RelayCore
import RelayCurl
import RelayDelivery
import ServiceLifecycle

/// Owns the Kafka clusters/producers and the shared HTTP client. It is the first service of the group,
/// so graceful shutdown reaches it last: every sink and export job has stopped using the clients when
/// it flushes the producers, stops the embedded clusters and the curl threads.
final class RelayClients: Service, Sendable {
    let kafka: KafkaClusters
    let http: CurlClient
    private let logger: Logger

    /// `destinations` sizes the shared HTTP client so every destination can use its full concurrency at once
    /// (a hanging destination must not take connections another one needs).
    init(destinations: [DestinationConfig], logger: Logger) {
        kafka = KafkaClusters(logger: logger)
        let connections = destinations.reduce(0) { total, destination in
            if case .http(let http) = destination.kind { return total + http.concurrency }
            return total
        }
        // Two workers: one libcurl thread tops out well below what loopback and the sink can do.
        http = CurlClient(configuration: CurlClientConfiguration(maxTotalConnections: max(64, connections), workerThreads: 2), logger: logger)
        self.logger = logger
    }

    func run() async throws {
        // Returns on graceful shutdown and on cancellation alike; either way the clients are closed.
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Flushes and closes every producer, stops the embedded clusters and the HTTP client; idempotent.
    func shutdown() async {
        await kafka.shutdown()
        http.shutdown()
        logger.debug("clients closed")
    }

    var summary: String {
        let embedded = kafka.embeddedBootstrap
        return embedded.isEmpty ? "kafka: external brokers" : "embedded kafka: " + embedded.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
    }
}
