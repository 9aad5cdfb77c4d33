// Builds one sink per destination of the routing table, and owns the Kafka clients they share.
import Logging
import RelayCore
import RelayDelivery

final class SinkFactory: Sendable {
    let kafka: KafkaClusters
    private let logger: Logger

    init(logger: Logger) throws {
        self.kafka = KafkaClusters(logger: logger)
        self.logger = logger
    }

    /// Kafka destinations get a KafkaSink; HTTP destinations are not delivered by this build yet
    /// (their deliveries stay pending in the outbox, visible in `outbox stats`, until a build with the HTTP sink runs).
    func makeSinks(for destinations: [DestinationConfig]) throws -> [String: any Sink] {
        var sinks: [String: any Sink] = [:]
        for destination in destinations {
            switch destination.kind {
            case .kafka(let kafka):
                sinks[destination.name] = try KafkaSink(name: destination.name, destination: kafka, clusters: self.kafka, logger: logger)
            case .http(let http):
                logger.warning("HTTP destinations are not delivered by this build; deliveries stay pending in the outbox",
                               metadata: ["destination": "\(destination.name)", "url": "\(http.url)"])
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
    }
}
