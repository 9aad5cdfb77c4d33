// KafkaMockCluster: librdkafka's in-process mock Kafka cluster, for tests and local diagnostics.
import CRdKafka
import Logging

/// librdkafka's mock cluster (`rd_kafka_mock_cluster_new` on a handle of its own): real Kafka
/// protocol servers on loopback, with fault injection. Lives as long as this object.
package final class KafkaMockCluster: Sendable {
    private let cluster: MockClusterHandle
    private let logger: Logger
    /// Comma-separated `127.0.0.1:port` list of the mock brokers.
    package let bootstrapServers: String

    /// Starts `brokers` mock brokers (ids 1…`brokers`). Topics are auto-created on first use.
    package init(brokers: Int, logger: Logger = Logger(label: "relay.kafka.mock")) throws(KafkaError) {
        let conf = RdKafkaConfiguration()
        // The handle only hosts the cluster and never connects anywhere: skip its notices
        // (such as "no bootstrap.servers configured"), keep warnings and errors.
        try conf.set("log_level", "4")
        // The mock brokers' sockets take this handle's settings; with Nagle on, small responses
        // wait for the client's delayed ACK (~40-50 ms stalls on loopback).
        try conf.set("socket.nagle.disable", "true")
        let client = try RdKafkaClient(type: RD_KAFKA_PRODUCER, configuration: conf, logger: logger)
        guard let brokerCount = Int32(exactly: brokers), brokerCount > 0,
              let pointer = rd_kafka_mock_cluster_new(client.pointer, brokerCount)
        else {
            throw KafkaError(RD_KAFKA_RESP_ERR__FAIL, message: "cannot start a mock cluster with \(brokers) brokers")
        }
        cluster = MockClusterHandle(pointer: pointer, client: client)
        bootstrapServers = cString(rd_kafka_mock_cluster_bootstraps(pointer))
        self.logger = logger
    }

    /// Makes the next `errors.count` requests of `apiKey` (any broker) fail with these codes, in order.
    package func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        codes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            rd_kafka_mock_push_request_errors_array(cluster.pointer, apiKey, buffer.count, base)
        }
    }

    /// Forgets errors pushed for `apiKey` that were not used yet.
    package func clearRequestErrors(apiKey: Int16) {
        rd_kafka_mock_clear_request_errors(cluster.pointer, apiKey)
    }

    /// Disconnects broker `id` and refuses new connections; partition leadership does not move.
    package func setBrokerDown(_ id: Int32) {
        check(rd_kafka_mock_broker_set_down(cluster.pointer, id), "set broker \(id) down")
    }

    /// Lets broker `id` accept connections again.
    package func setBrokerUp(_ id: Int32) {
        check(rd_kafka_mock_broker_set_up(cluster.pointer, id), "set broker \(id) up")
    }

    /// Adds `milliseconds` of latency to every response of broker `id`.
    package func setBrokerRoundTripTime(_ id: Int32, milliseconds: Int32) {
        check(rd_kafka_mock_broker_set_rtt(cluster.pointer, id, milliseconds), "set broker \(id) rtt")
    }

    /// Moves the leadership of `topic`/`partition` to `broker`; the old leader answers NOT_LEADER.
    package func setPartitionLeader(topic: String, partition: Int32, broker: Int32) {
        check(
            rd_kafka_mock_partition_set_leader(cluster.pointer, topic, partition, broker),
            "set leader of \(topic)/\(partition) to broker \(broker)"
        )
    }

    /// Creates `name` explicitly (instead of auto-creation with 4 partitions).
    package func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster.pointer, name, partitions, replicationFactor)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(err, message: "cannot create topic \(name): \(cString(rd_kafka_err2str(err)))")
        }
    }

    private func check(_ err: rd_kafka_resp_err_t, _ action: String) {
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        logger.error("mock cluster: cannot \(action)", metadata: ["error": "\(KafkaError(err))"])
    }
}

/// Owns the `rd_kafka_mock_cluster_t` and the handle it runs on; the cluster goes first.
///
/// `@unchecked Sendable`: the pointers never change and the mock API posts each call to the
/// cluster's own thread.
private final class MockClusterHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    private let client: RdKafkaClient

    init(pointer: OpaquePointer, client: RdKafkaClient) {
        self.pointer = pointer
        self.client = client
    }

    deinit {
        rd_kafka_mock_cluster_destroy(pointer)
    }
}
