// The resolved routing table: sources, destinations and routes as typed values (SPEC §4).

package struct RoutingTable: Sendable {
    package var sources: [SourceConfig]
    package var destinations: [DestinationConfig]
    package var routes: [Route]

    package init(sources: [SourceConfig], destinations: [DestinationConfig], routes: [Route]) {
        self.sources = sources
        self.destinations = destinations
        self.routes = routes
    }

    package func source(named name: String) -> SourceConfig? { sources.first { $0.name == name } }
    package func source(forPath path: String) -> SourceConfig? { sources.first { $0.path == path } }
    package func destination(named name: String) -> DestinationConfig? { destinations.first { $0.name == name } }
    package func route(named name: String) -> Route? { routes.first { $0.name == name } }
}

/// An inbound endpoint.
package struct SourceConfig: Sendable {
    package var name: String
    package var path: String
    package var rules: PayloadRules
    package var auth: AuthConfig
    package var maxBodyBytes: Int
    /// How this source's export URLs are fetched; nil: routes may not fetch its exports.
    package var export: ExportSourceSettings?

    package static let defaultMaxBodyBytes = 1 << 20
    package var kind: SourceKind { rules.kind }

    package init(name: String, path: String, rules: PayloadRules, auth: AuthConfig = .none,
                maxBodyBytes: Int = SourceConfig.defaultMaxBodyBytes, export: ExportSourceSettings? = nil) {
        self.name = name
        self.export = export
        self.path = path
        self.rules = rules
        self.auth = auth
        self.maxBodyBytes = maxBodyBytes
    }
}

/// How a destination retries before dead-lettering.
package struct DeliveryPolicy: Sendable, Hashable {
    package var maxAttempts: Int
    package var maxAge: Duration
    package var initialBackoff: Duration
    package var maxBackoff: Duration

    package init(maxAttempts: Int = 20, maxAge: Duration = .seconds(24 * 3600),
                initialBackoff: Duration = .milliseconds(500), maxBackoff: Duration = .seconds(300)) {
        self.maxAttempts = maxAttempts
        self.maxAge = maxAge
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }
}

package struct KafkaDestination: Sendable, Hashable {
    /// `embedded`, `mock:N` (in-process mock cluster) or a bootstrap list `host:port,...`.
    package var brokers: String
    package var topic: String
    package var properties: [String: String]
    package var deadLetterTopic: String?

    package init(brokers: String, topic: String, properties: [String: String] = [:], deadLetterTopic: String? = nil) {
        self.brokers = brokers
        self.topic = topic
        self.properties = properties
        self.deadLetterTopic = deadLetterTopic
    }

    /// Number of mock brokers when `brokers` names the embedded cluster, else nil.
    package var mockBrokerCount: Int? {
        if brokers == "embedded" { return 3 }
        if brokers.hasPrefix("mock:"), let n = Int(brokers.dropFirst(5)), n > 0 { return n }
        return nil
    }
}

package struct HTTPDestination: Sendable, Hashable {
    package var url: String
    package var method: String
    package var headers: [String: String]
    package var signingSecret: SecretReference?
    package var connectTimeout: Duration
    package var timeout: Duration
    package var concurrency: Int
    package var retryOnStatus: Set<Int>
    package var caFile: String?
    package var proxy: String?
    package var breakerFailures: Int
    package var breakerCoolDown: Duration

    package static let defaultRetryStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

    package init(url: String, method: String = "POST", headers: [String: String] = [:],
                signingSecret: SecretReference? = nil, connectTimeout: Duration = .seconds(5),
                timeout: Duration = .seconds(30), concurrency: Int = 16,
                retryOnStatus: Set<Int> = HTTPDestination.defaultRetryStatuses, caFile: String? = nil,
                proxy: String? = nil, breakerFailures: Int = 5, breakerCoolDown: Duration = .seconds(30)) {
        self.url = url
        self.method = method
        self.headers = headers
        self.signingSecret = signingSecret
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.concurrency = concurrency
        self.retryOnStatus = retryOnStatus
        self.caFile = caFile
        self.proxy = proxy
        self.breakerFailures = breakerFailures
        self.breakerCoolDown = breakerCoolDown
    }
}

package struct DestinationConfig: Sendable, Equatable {
    package enum Kind: Sendable, Hashable {
        case kafka(KafkaDestination)
        case http(HTTPDestination)
    }
    package var name: String
    package var kind: Kind
    package var delivery: DeliveryPolicy

    package init(name: String, kind: Kind, delivery: DeliveryPolicy = DeliveryPolicy()) {
        self.name = name
        self.kind = kind
        self.delivery = delivery
    }
}

package struct Route: Sendable {
    package var name: String
    /// Source names this route listens to.
    package var sources: [String]
    /// All must hold.
    package var predicates: [Predicate]
    package var destinations: [String]
    /// Message key; nil means the source kind's default (`friendlyId` / `audienceId`).
    package var key: Template?
    package var headers: [(name: String, value: Template)]
    /// When true the route's destinations receive the export at the event's `apiUrl`, record by
    /// record between `export.started` and `export.completed`, instead of the notification itself.
    package var fetchExport: Bool
    package var export: ExportForwarding

    package init(name: String, sources: [String], predicates: [Predicate] = [], destinations: [String],
                key: Template? = nil, headers: [(name: String, value: Template)] = [], fetchExport: Bool = false,
                export: ExportForwarding = ExportForwarding()) {
        self.export = export
        self.name = name
        self.sources = sources
        self.predicates = predicates
        self.destinations = destinations
        self.key = key
        self.headers = headers
        self.fetchExport = fetchExport
    }

    package func matches(source: String, event: JSONValue) -> Bool {
        sources.contains(source) && predicates.allSatisfy { $0.matches(event) }
    }

    /// The notification status that has an export behind it (Sitecore publishes one only when the run succeeded).
    package static let exportStatus = "SUCCESS"
    static let statusField = FieldPath("status")

    /// `status` values the route names explicitly (`equals` / `in` predicates on `status`), in
    /// order; nil when it names none.
    package var namedStatuses: [String]? {
        var named: [String] = []
        var any = false
        for predicate in predicates where predicate.field == Self.statusField {
            switch predicate.test {
            case .equals(let value):
                any = true
                if !named.contains(value) { named.append(value) }
            case .oneOf(let values):
                any = true
                for value in values where !named.contains(value) { named.append(value) }
            case .prefix, .regex, .exists:
                continue
            }
        }
        return any ? named : nil
    }

    /// Whether a matching event's export is fetched: with `fetchExport`, for status SUCCESS only,
    /// unless the route's predicates name the statuses themselves (then they decide, having matched).
    package func fetchesExport(for event: JSONValue) -> Bool {
        guard fetchExport else { return false }
        if namedStatuses != nil { return true }
        return event.value(at: Self.statusField)?.renderedText == Self.exportStatus
    }
}
