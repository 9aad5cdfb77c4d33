// `audience-relay mock-kafka`: librdkafka's mock cluster as a standalone process (benchmarks, local development).
import Foundation
import Logging
import RelayKafka
import ServiceLifecycle
import UnixSignals

package enum MockKafkaCommand {
    /// Starts a mock cluster, prints its bootstrap address on stdout, and runs until SIGTERM/SIGINT.
    package static func run(brokers: Int) async throws {
        ProcessSignals.prepare()
        var logger = Logger(label: "mock-kafka")
        logger.logLevel = .warning
        let cluster = try KafkaMockCluster(brokers: brokers, logger: logger)
        FileHandle.standardOutput.write(Data((cluster.bootstrapServers + "\n").utf8))
        let group = ServiceGroup(configuration: .init(services: [IdleService()], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        withExtendedLifetime(cluster) {}
    }

    private struct IdleService: Service {
        func run() async throws {
            try? await gracefulShutdown()
        }
    }
}
