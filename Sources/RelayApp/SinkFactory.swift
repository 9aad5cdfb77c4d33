// Builds one sink per destination of the routing table, and owns the Kafka and HTTP clients they share.
import Logging
import RelayCore
import RelayCurl
import RelayDelivery

final class SinkFactory: Sendable {
    let kafka: KafkaClusters
    let http: CurlClient
    private let logger: Logger

    /// `destinations` sizes the shared HTTP client so every destination can use its full concurrency at once
    /// (a hanging destination must not take connections another one needs).
    init(destinations: [DestinationConfig], logger: Logger) {
        self.kafka = KafkaClusters(logger: logger)
        let connections = destinations.reduce(0) { total, destination in
            if case .http(let http) = destination.kind { return total + http.concurrency }
            return total
        }
        // Two workers: one libcurl thread tops out well below what loopback and the sink can do.
        self.http = CurlClient(configuration: CurlClientConfiguration(maxTotalConnections: max(64, connections), workerThreads: 2), logger: logger)
        self.logger = logger
    }

    func makeSinks(for destinations: [DestinationConfig], secrets: SecretResolver) throws -> [String: any Sink] {
        var sinks: [String: any Sink] = [:]
        for destination in destinations {
            switch destination.kind {
            case .kafka(let kafka):
                sinks[destination.name] = try KafkaSink(name: destination.name, destination: kafka, clusters: self.kafka, logger: logger)
            case .http(let http):
                let key = try http.signingSecret.map { try secrets.webhookKey($0) }
                sinks[destination.name] = HTTPSink(name: destination.name, destination: http, signingKey: key, client: self.http, logger: logger)
            }
        }
        return sinks
    }

    var summary: String {
        let embedded = kafka.embeddedBootstrap
        return embedded.isEmpty ? "kafka: external brokers" : "embedded kafka: " + embedded.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
    }

    func shutdown() async {
        await kafka.shutdown()
        http.shutdown()
    }
}
