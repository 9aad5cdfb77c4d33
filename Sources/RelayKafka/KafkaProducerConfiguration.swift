// Producer settings: relay defaults (idempotent, acks=all, lz4, 5 ms linger) plus operator overrides.

/// What a ``KafkaProducer`` connects to and how librdkafka is tuned.
package struct KafkaProducerConfiguration: Sendable {
    /// Applied first, so any of them can be overridden through ``properties``.
    ///
    /// `socket.nagle.disable=true` (librdkafka 2.0 defaults to false; the Java client and Kafka
    /// brokers disable Nagle too) avoids the Nagle/delayed-ACK stall of ~40 ms that hits a request
    /// whose last TCP segment is small.
    package static let defaultProperties: [(name: String, value: String)] = [
        ("enable.idempotence", "true"),
        ("acks", "all"),
        ("compression.type", "lz4"),
        ("linger.ms", "5"),
        ("socket.nagle.disable", "true"),
        // Broker states every 5 s: how `/readyz` knows whether the cluster is reachable (KafkaBrokerStatus).
        ("statistics.interval.ms", "5000"),
    ]

    /// librdkafka's own default for `message.max.bytes`.
    package static let librdkafkaDefaultMaxMessageBytes = 1_000_000

    /// Comma-separated `host:port` list.
    package var bootstrapServers: String
    /// Any librdkafka configuration property, applied after the defaults and `bootstrap.servers`.
    package var properties: [String: String]

    package init(bootstrapServers: String, properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
    }

    /// The effective `message.max.bytes`: larger messages fail at once, before reaching a broker.
    package var maxMessageBytes: Int {
        let configured = properties["message.max.bytes"].flatMap { Int($0.filter { !$0.isWhitespace }) }
        return configured ?? Self.librdkafkaDefaultMaxMessageBytes
    }

    /// Every property in the order it is applied: defaults, `bootstrap.servers`, then overrides
    /// sorted by name (so the order is stable).
    package var effectiveProperties: [(name: String, value: String)] {
        var result = Self.defaultProperties
        result.append(("bootstrap.servers", bootstrapServers))
        for name in properties.keys.sorted() {
            if let value = properties[name] { result.append((name, value)) }
        }
        return result
    }
}
