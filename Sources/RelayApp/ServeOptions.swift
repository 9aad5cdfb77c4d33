// Settings of `audience-relay serve` (flags and their RELAY_* environment equivalents, SPEC §10).
import Logging
import RelayOutbox

public struct ServeOptions: Sendable {
    public var configPath: String
    public var dataDirectory: String
    public var listen: ListenAddress
    /// `postgres://...` selects the PostgreSQL outbox; nil means SQLite in the data directory.
    public var outboxURL: String?
    public var commitMode: StoreMode
    public var logLevel: Logger.Level
    /// How long delivered rows (and events left without deliveries) are kept; also the dedupe window.
    public var deliveredRetention: Duration
    /// How long SIGTERM waits for in-flight requests and deliveries before cancelling them.
    public var shutdownGracePeriod: Duration = .seconds(30)
    /// Most export jobs fetched and forwarded at once.
    public var exportJobs: Int = 2
    /// The admin API's bearer token; nil leaves the admin API off.
    public var adminToken: String?
    /// Where the admin API listens (when a token is configured).
    public var adminListen: ListenAddress = ServeOptions.defaultAdminListen
    /// How often the routing table file is checked for a change (hot reload); zero: not watched.
    public var configWatchInterval: Duration = .milliseconds(250)

    /// Which store answers ingest: the real outbox, or (benchmarks only) no store at all.
    public enum StoreMode: String, Sendable, CaseIterable {
        case grouped
        case perRequest = "per-request"
        case none
    }

    public static let defaultConfigPath = "routes/routes.yaml"
    public static let defaultDataDirectory = "./data"
    public static let defaultAdminListen = ListenAddress(host: "127.0.0.1", port: 8081)

    public init(configPath: String = ServeOptions.defaultConfigPath, dataDirectory: String = ServeOptions.defaultDataDirectory,
                listen: ListenAddress = .default, outboxURL: String? = nil, commitMode: StoreMode = .grouped,
                logLevel: Logger.Level = .info, deliveredRetention: Duration = .seconds(24 * 3600)) {
        self.configPath = configPath
        self.dataDirectory = dataDirectory
        self.listen = listen
        self.outboxURL = outboxURL
        self.commitMode = commitMode
        self.logLevel = logLevel
        self.deliveredRetention = deliveredRetention
    }
}
