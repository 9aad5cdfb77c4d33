// KafkaClusters: the process's Kafka clients — one shared producer per brokers+properties, one in-process mock cluster per `embedded`/`mock:N`.
import Foundation
import Logging
import RelayCore
import RelayKafka
import Synchronization

/// Owns every Kafka producer and embedded mock cluster of the process.
///
/// Destinations on the same brokers with the same properties share one ``KafkaProducer`` (one
/// connection set, one batching queue); different properties get their own. `brokers: embedded`
/// (3 brokers) and `brokers: mock:N` start one in-process ``KafkaMockCluster`` per distinct value,
/// reachable on loopback by any Kafka client. ``shutdown()`` flushes the producers, then releases
/// the mock clusters.
package final class KafkaClusters: Sendable {
    /// How long ``shutdown()`` and ``releaseProducer(for:)`` let a producer flush.
    package static let flushTimeout: Duration = .seconds(5)

    private struct ProducerKey: Hashable {
        var brokers: String
        var properties: [String: String]

        init(_ destination: KafkaDestination) {
            brokers = destination.brokers
            properties = destination.properties
        }
    }

    private struct State {
        var clusters: [String: KafkaMockCluster] = [:]
        var producers: [ProducerKey: KafkaProducer] = [:]
        /// Sinks holding each producer (``acquireProducer(for:)`` minus ``releaseProducer(for:)``).
        var users: [ProducerKey: Int] = [:]
        var isShutDown = false
    }

    private let state = Mutex(State())
    private let logger: Logger

    package init(logger: Logger) {
        self.logger = logger
    }

    /// The bootstrap list for a destination's `brokers` value: for `embedded` / `mock:N` the
    /// loopback address of its mock cluster (started on first use), otherwise `brokers` itself.
    package func bootstrapServers(for brokers: String) throws(KafkaError) -> String {
        try state.withLock { state throws(KafkaError) in try bootstrap(for: brokers, in: &state) }
    }

    /// The mock cluster behind `embedded` / `mock:N` (started on first use), for fault injection
    /// in tests; nil for real brokers.
    package func mockCluster(for brokers: String) throws(KafkaError) -> KafkaMockCluster? {
        try state.withLock { state throws(KafkaError) in
            guard KafkaDestination(brokers: brokers, topic: "").mockBrokerCount != nil else { return nil }
            _ = try bootstrap(for: brokers, in: &state)
            return state.clusters[brokers]
        }
    }

    /// `brokers` value → bootstrap list of every mock cluster started so far.
    package var embeddedBootstrap: [String: String] {
        state.withLock { state in state.clusters.mapValues(\.bootstrapServers) }
    }

    /// The producer shared by every destination with these brokers and properties, created on
    /// first use. A producer that raised a fatal error is replaced by a new one here (the old one
    /// stops once its last `send` has returned). Throws after ``shutdown()`` (retriable) and for
    /// an invalid configuration (not retriable).
    package func producer(for destination: KafkaDestination) throws(KafkaError) -> KafkaProducer {
        try state.withLock { state throws(KafkaError) in try producer(for: destination, in: &state) }
    }

    /// ``producer(for:)``, counting the caller as a user until ``releaseProducer(for:)``: a sink
    /// acquires its producer when it is created and releases it at its shutdown.
    package func acquireProducer(for destination: KafkaDestination) throws(KafkaError) -> KafkaProducer {
        try state.withLock { state throws(KafkaError) in
            let producer = try producer(for: destination, in: &state)
            state.users[ProducerKey(destination), default: 0] += 1
            return producer
        }
    }

    /// Ends one ``acquireProducer(for:)``; the last user's release flushes and closes the producer
    /// (a later ``producer(for:)`` creates a new one). Mock clusters stay until ``shutdown()``.
    package func releaseProducer(for destination: KafkaDestination) async {
        let key = ProducerKey(destination)
        let retired: KafkaProducer? = state.withLock { state in
            guard let users = state.users[key] else { return nil }
            guard users <= 1 else {
                state.users[key] = users - 1
                return nil
            }
            state.users[key] = nil
            return state.producers.removeValue(forKey: key)
        }
        await retired?.shutdownGracefully(flushTimeout: Self.flushTimeout)
    }

    /// Flushes and closes every producer (up to ``flushTimeout``), then releases the mock
    /// clusters. Later calls for producers throw; idempotent.
    package func shutdown() async {
        let released = ReleasedClusters()
        let producers = state.withLock { state in
            state.isShutDown = true
            let producers = Array(state.producers.values)
            released.take(state.clusters.values)
            state.producers = [:]
            state.users = [:]
            state.clusters = [:]
            return producers
        }
        await withTaskGroup(of: Void.self) { group in
            for producer in producers {
                group.addTask { await producer.shutdownGracefully(flushTimeout: Self.flushTimeout) }
            }
        }
        let count = await released.destroyOnOwnThread()
        if count > 0 {
            logger.info("embedded Kafka stopped", metadata: ["clusters": "\(count)"])
        }
    }

    // MARK: - Under the lock

    private func producer(for destination: KafkaDestination, in state: inout State) throws(KafkaError) -> KafkaProducer {
        guard !state.isShutDown else { throw Self.shutDownError }
        let key = ProducerKey(destination)
        if let existing = state.producers[key] {
            guard let fatal = existing.raisedFatalError else { return existing }
            logger.warning("replacing a Kafka producer after its fatal error", metadata: [
                "brokers": "\(destination.brokers)", "error": "\(fatal)",
            ])
        }
        let configuration = KafkaProducerConfiguration(
            bootstrapServers: try bootstrap(for: destination.brokers, in: &state),
            properties: destination.properties
        )
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        state.producers[key] = producer
        return producer
    }

    private func bootstrap(for brokers: String, in state: inout State) throws(KafkaError) -> String {
        if let cluster = state.clusters[brokers] { return cluster.bootstrapServers }
        guard let count = KafkaDestination(brokers: brokers, topic: "").mockBrokerCount else {
            if brokers.hasPrefix("mock:") {
                throw Self.invalidBrokers("'\(brokers)': mock:N needs a positive broker count")
            }
            return brokers
        }
        guard !state.isShutDown else { throw Self.shutDownError }
        let cluster = try KafkaMockCluster(brokers: count, logger: logger)
        state.clusters[brokers] = cluster
        logger.info("embedded Kafka listening", metadata: [
            "bootstrap": "\(cluster.bootstrapServers)", "brokers": "\(brokers)",
        ])
        return cluster.bootstrapServers
    }

    private static let shutDownError = KafkaError(
        code: KafkaError.Code.destroyed, name: "_DESTROY", message: "Kafka clients are shut down",
        isRetriable: true, isFatal: false
    )

    private static func invalidBrokers(_ message: String) -> KafkaError {
        KafkaError(code: KafkaError.Code.invalidArgument, name: "_INVALID_ARG", message: message,
                   isRetriable: false, isFatal: false)
    }
}

/// Mock clusters on their way out. Destroying one blocks for about a second (librdkafka joins
/// its threads), so the last references are dropped on a thread of their own, never on the
/// cooperative pool. A cluster someone else still holds is destroyed when they let it go.
private final class ReleasedClusters: Sendable {
    private let clusters = Mutex<[KafkaMockCluster]>([])

    func take(_ more: some Sequence<KafkaMockCluster>) {
        clusters.withLock { $0.append(contentsOf: more) }
    }

    /// Drops the references on a new thread; returns how many there were once that is done.
    func destroyOnOwnThread() async -> Int {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            let thread = Thread {
                let count = self.clusters.withLock { clusters in
                    let count = clusters.count
                    clusters.removeAll()
                    return count
                }
                continuation.resume(returning: count)
            }
            thread.name = "kafka-mock-release"
            thread.start()
        }
    }
}
