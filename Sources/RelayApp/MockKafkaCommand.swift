// `audience-relay mock-kafka`: librdkafka's mock cluster as a standalone process (benchmarks, local development).
import Foundation
import Logging
import RelayKafka
import ServiceLifecycle
import UnixSignals

package enum MockKafkaCommand {
    /// Starts a mock cluster, prints its bootstrap address on stdout, and runs until SIGTERM/SIGINT.
    /// SIGUSR1 takes every broker down (connections dropped, new ones refused), SIGUSR2 brings them all
    /// back up; each is logged on stderr. The handlers are in place before the address is printed.
    package static func run(brokers: Int) async throws {
        ProcessSignals.prepare()
        var logger = Logger(label: "mock-kafka")
        logger.logLevel = .warning
        let cluster = try KafkaMockCluster(brokers: brokers, logger: logger)
        let faults = await UnixSignalsSequence(trapping: .sigusr1, .sigusr2)
        FileHandle.standardOutput.write(Data((cluster.bootstrapServers + "\n").utf8))
        var controlLogger = Logger(label: "mock-kafka")
        controlLogger.logLevel = .notice
        let control = BrokerControl(cluster: cluster, brokers: brokers, signals: faults, logger: controlLogger)
        let group = ServiceGroup(configuration: .init(services: [control], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        withExtendedLifetime(cluster) {}
    }

    /// Takes every broker down on SIGUSR1 and up on SIGUSR2 until the graceful shutdown.
    private struct BrokerControl: Service {
        let cluster: KafkaMockCluster
        let brokers: Int
        let signals: UnixSignalsSequence
        let logger: Logger

        func run() async throws {
            for await signal in signals.cancelOnGracefulShutdown() {
                let down = signal == .sigusr1
                for id in 1...Int32(brokers) {
                    if down { cluster.setBrokerDown(id) } else { cluster.setBrokerUp(id) }
                }
                logger.notice("all brokers \(down ? "down" : "up")", metadata: ["signal": "\(signal)", "brokers": "\(brokers)"])
            }
        }
    }
}
