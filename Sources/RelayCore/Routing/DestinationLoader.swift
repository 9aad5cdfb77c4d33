// Reads the `destinations` section: Kafka topics and HTTP endpoints with their delivery settings.
import Foundation
import Yams

enum DestinationLoader {
    static let commonKeys: Set<String> = ["type", "delivery"]
    static let kafkaKeys: Set<String> = ["brokers", "topic", "properties", "deadLetterTopic"]
    static let httpKeys: Set<String> = ["url", "method", "headers", "signingSecret", "timeout", "connectTimeout",
                                         "concurrency", "retryOnStatus", "caFile", "proxy", "breaker"]
    static let deliveryKeys: Set<String> = ["maxAttempts", "maxAge", "initialBackoff", "maxBackoff"]

    /// The valid destinations, and every declared name.
    static func load(_ node: Node, reader: YAMLReader) -> (destinations: [DestinationConfig], declared: Set<String>) {
        var destinations: [DestinationConfig] = []
        let entries = reader.namedEntries(node, "destinations")
        for entry in entries {
            let ctx = "destination '\(entry.name)'"
            guard case .mapping(let mapping) = entry.value else {
                reader.error(at: entry.value, "\(ctx) must be a mapping")
                continue
            }
            let type = mapping["type"].flatMap { reader.string($0, "\(ctx).type") }
            let allowed: Set<String>
            switch type {
            case "kafka": allowed = commonKeys.union(kafkaKeys)
            case "http": allowed = commonKeys.union(httpKeys)
            case nil: allowed = commonKeys.union(kafkaKeys).union(httpKeys)
            case let other?:
                reader.error(at: mapping["type"], "\(ctx).type: unknown destination type '\(other)' (allowed: kafka, http)")
                allowed = commonKeys.union(kafkaKeys).union(httpKeys)
            }
            guard let f = reader.fields(entry.value, ctx, allowed: allowed, required: ["type"]) else { continue }
            let delivery = f["delivery"].map { loadDelivery($0, reader: reader, context: "\(ctx).delivery") } ?? DeliveryPolicy()
            let kind: DestinationConfig.Kind?
            switch type {
            case "kafka": kind = loadKafka(f, reader: reader, context: ctx, node: entry.value).map { .kafka($0) }
            case "http": kind = loadHTTP(f, reader: reader, context: ctx, node: entry.value).map { .http($0) }
            default: kind = nil
            }
            if let kind { destinations.append(DestinationConfig(name: entry.name, kind: kind, delivery: delivery)) }
        }
        return (destinations, Set(entries.map(\.name)))
    }

    private static func loadDelivery(_ node: Node, reader: YAMLReader, context: String) -> DeliveryPolicy {
        var policy = DeliveryPolicy()
        guard let f = reader.fields(node, context, allowed: deliveryKeys) else { return policy }
        if let v = reader.int(f["maxAttempts"], "\(context).maxAttempts", min: 1, max: 1_000_000) { policy.maxAttempts = v }
        reader.durations(f, context, into: &policy,
                         ["maxAge": \.maxAge, "initialBackoff": \.initialBackoff, "maxBackoff": \.maxBackoff],
                         range: ("initialBackoff", "maxBackoff"), of: node)
        return policy
    }

    static func isValidTopic(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 249 && name != "." && name != ".." &&
            name.unicodeScalars.allSatisfy { ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || "._-".unicodeScalars.contains($0) }
    }

    private static func loadKafka(_ f: [String: Node], reader: YAMLReader, context: String, node: Node) -> KafkaDestination? {
        for key in ["brokers", "topic"] where f[key] == nil {
            reader.error(at: node, "\(context): missing required key '\(key)' for a kafka destination")
        }
        let brokers = reader.string(f["brokers"], "\(context).brokers")
        if let brokers, brokers != "embedded", !brokers.hasPrefix("mock:") {
            for server in brokers.split(separator: ",") {
                let parts = server.trimmingCharacters(in: .whitespaces).split(separator: ":")
                if parts.count != 2 || UInt16(parts[1]) == nil {
                    reader.error(at: f["brokers"], "\(context).brokers: '\(server)' is not host:port (or use 'embedded' / 'mock:N')")
                }
            }
        } else if let brokers, brokers.hasPrefix("mock:"), KafkaDestination(brokers: brokers, topic: "t").mockBrokerCount == nil {
            reader.error(at: f["brokers"], "\(context).brokers: 'mock:N' needs a positive broker count")
        }
        let topic = reader.string(f["topic"], "\(context).topic")
        if let topic, !isValidTopic(topic) {
            reader.error(at: f["topic"], "\(context).topic: '\(topic)' is not a valid Kafka topic name (letters, digits, . _ -, at most 249)")
        }
        let dlq = reader.string(f["deadLetterTopic"], "\(context).deadLetterTopic")
        if let dlq, !isValidTopic(dlq) {
            reader.error(at: f["deadLetterTopic"], "\(context).deadLetterTopic: '\(dlq)' is not a valid Kafka topic name")
        }
        var properties: [String: String] = [:]
        for entry in reader.stringMap(f["properties"], "\(context).properties") ?? [] {
            if entry.name == "bootstrap.servers" {
                reader.error(at: entry.node, "\(context).properties: set bootstrap.servers through 'brokers'")
            }
            properties[entry.name] = entry.value
        }
        guard let brokers, let topic else { return nil }
        return KafkaDestination(brokers: brokers, topic: topic, properties: properties, deadLetterTopic: dlq)
    }

    private static func loadHTTP(_ f: [String: Node], reader: YAMLReader, context: String, node: Node) -> HTTPDestination? {
        guard f["url"] != nil else {
            reader.error(at: node, "\(context): missing required key 'url' for an http destination")
            return nil
        }
        guard let url = reader.string(f["url"], "\(context).url") else { return nil }
        if FieldRules.absoluteHTTPURL(.string(url)) != nil {
            reader.error(at: f["url"], "\(context).url must be an absolute http or https URL (got '\(url)')")
        }
        var d = HTTPDestination(url: url)
        if let method = reader.string(f["method"], "\(context).method") {
            if ["POST", "PUT", "PATCH"].contains(method) { d.method = method } else {
                reader.error(at: f["method"], "\(context).method must be POST, PUT or PATCH (got '\(method)')")
            }
        }
        for entry in reader.stringMap(f["headers"], "\(context).headers") ?? [] { d.headers[entry.name] = entry.value }
        d.signingSecret = reader.secret(f["signingSecret"], "\(context).signingSecret")
        if let v = reader.duration(f["timeout"], "\(context).timeout") { d.timeout = v }
        if let v = reader.duration(f["connectTimeout"], "\(context).connectTimeout") { d.connectTimeout = v }
        if let v = reader.int(f["concurrency"], "\(context).concurrency", min: 1, max: 1024) { d.concurrency = v }
        if let node = f["retryOnStatus"] {
            if case .sequence(let seq) = node {
                d.retryOnStatus = Set(seq.enumerated().compactMap { reader.int($1, "\(context).retryOnStatus[\($0)]", min: 100, max: 599) })
            } else {
                reader.error(at: node, "\(context).retryOnStatus must be a list of HTTP status codes")
            }
        }
        d.caFile = reader.string(f["caFile"], "\(context).caFile")
        d.proxy = reader.string(f["proxy"], "\(context).proxy", allowEmpty: true)
        if let breaker = f["breaker"], let b = reader.fields(breaker, "\(context).breaker", allowed: ["failures", "coolDown"]) {
            if let v = reader.int(b["failures"], "\(context).breaker.failures", min: 1, max: 10_000) { d.breakerFailures = v }
            if let v = reader.duration(b["coolDown"], "\(context).breaker.coolDown") { d.breakerCoolDown = v }
        }
        return d
    }
}
