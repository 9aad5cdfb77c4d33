// The resolved routing table: sources, destinations and routes as typed values (SPEC §4).

public struct RoutingTable: Sendable {
    public var sources: [SourceConfig]
    public var destinations: [DestinationConfig]
    public var routes: [Route]

    public init(sources: [SourceConfig], destinations: [DestinationConfig], routes: [Route]) {
        self.sources = sources
        self.destinations = destinations
        self.routes = routes
    }

    public func source(named name: String) -> SourceConfig? { sources.first { $0.name == name } }
    public func source(forPath path: String) -> SourceConfig? { sources.first { $0.path == path } }
    public func destination(named name: String) -> DestinationConfig? { destinations.first { $0.name == name } }
    public func route(named name: String) -> Route? { routes.first { $0.name == name } }
}

/// An inbound endpoint.
public struct SourceConfig: Sendable {
    public var name: String
    public var path: String
    public var rules: PayloadRules
    public var auth: AuthConfig
    public var maxBodyBytes: Int
    /// How this source's export URLs are fetched; nil: routes may not fetch its exports.
    public var export: ExportSourceSettings?

    public static let defaultMaxBodyBytes = 1 << 20
    public var kind: SourceKind { rules.kind }

    public init(name: String, path: String, rules: PayloadRules, auth: AuthConfig = .none,
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
public struct DeliveryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var maxAge: Duration
    public var initialBackoff: Duration
    public var maxBackoff: Duration

    public init(maxAttempts: Int = 20, maxAge: Duration = .seconds(24 * 3600),
                initialBackoff: Duration = .milliseconds(500), maxBackoff: Duration = .seconds(300)) {
        self.maxAttempts = maxAttempts
        self.maxAge = maxAge
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }
}

public struct KafkaDestination: Sendable, Hashable {
    /// `embedded`, `mock:N` (in-process mock cluster) or a bootstrap list `host:port,...`.
    public var brokers: String
    public var topic: String
    public var properties: [String: String]
    public var deadLetterTopic: String?

    public init(brokers: String, topic: String, properties: [String: String] = [:], deadLetterTopic: String? = nil) {
        self.brokers = brokers
        self.topic = topic
        self.properties = properties
        self.deadLetterTopic = deadLetterTopic
    }

    /// Number of mock brokers when `brokers` names the embedded cluster, else nil.
    public var mockBrokerCount: Int? {
        if brokers == "embedded" { return 3 }
        if brokers.hasPrefix("mock:"), let n = Int(brokers.dropFirst(5)), n > 0 { return n }
        return nil
    }
}

public struct HTTPDestination: Sendable, Hashable {
    public var url: String
    public var method: String
    public var headers: [String: String]
    public var signingSecret: SecretReference?
    public var connectTimeout: Duration
    public var timeout: Duration
    public var concurrency: Int
    public var retryOnStatus: Set<Int>
    public var caFile: String?
    public var proxy: String?
    public var breakerFailures: Int
    public var breakerCoolDown: Duration

    public static let defaultRetryStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

    public init(url: String, method: String = "POST", headers: [String: String] = [:],
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

public struct DestinationConfig: Sendable, Equatable {
    public enum Kind: Sendable, Hashable {
        case kafka(KafkaDestination)
        case http(HTTPDestination)
    }
    public var name: String
    public var kind: Kind
    public var delivery: DeliveryPolicy

    public init(name: String, kind: Kind, delivery: DeliveryPolicy = DeliveryPolicy()) {
        self.name = name
        self.kind = kind
        self.delivery = delivery
    }
}

public struct Route: Sendable {
    public var name: String
    /// Source names this route listens to.
    public var sources: [String]
    /// All must hold.
    public var predicates: [Predicate]
    public var destinations: [String]
    /// Message key; nil means the source kind's default (`friendlyId` / `audienceId`).
    public var key: Template?
    public var headers: [(name: String, value: Template)]
    /// When true the route's destinations receive the export at the event's `apiUrl`, record by
    /// record between `export.started` and `export.completed`, instead of the notification itself.
    public var fetchExport: Bool
    public var export: ExportForwarding

    public init(name: String, sources: [String], predicates: [Predicate] = [], destinations: [String],
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

    public func matches(source: String, event: JSONValue) -> Bool {
        sources.contains(source) && predicates.allSatisfy { $0.matches(event) }
    }

    /// The notification status that has an export behind it (Sitecore publishes one only when the run succeeded).
    public static let exportStatus = "SUCCESS"
    static let statusField = FieldPath("status")

    /// `status` values the route names explicitly (`equals` / `in` predicates on `status`), in
    /// order; nil when it names none.
    public var namedStatuses: [String]? {
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
    public func fetchesExport(for event: JSONValue) -> Bool {
        guard fetchExport else { return false }
        if namedStatuses != nil { return true }
        return event.value(at: Self.statusField)?.renderedText == Self.exportStatus
    }
}
