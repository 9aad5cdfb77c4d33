// Settings of `audience-relay serve` (flags and their RELAY_* environment equivalents, SPEC §10).
import Logging
import RelayOutbox

package struct ServeOptions: Sendable {
    package var configPath: String
    package var dataDirectory: String
    package var listen: ListenAddress
    /// `postgres://...` selects the PostgreSQL outbox; nil means SQLite in the data directory.
    package var outboxURL: String?
    package var commitMode: StoreMode
    package var logLevel: Logger.Level
    /// How long delivered rows (and events left without deliveries) are kept; also the dedupe window.
    package var deliveredRetention: Duration
    /// How long SIGTERM waits for in-flight requests and deliveries before cancelling them.
    package var shutdownGracePeriod: Duration = .seconds(30)
    /// Most export jobs fetched and forwarded at once.
    package var exportJobs: Int = 2
    /// The admin API's bearer token; nil leaves the admin API off.
    package var adminToken: String?
    /// Where the admin API listens (when a token is configured).
    package var adminListen: ListenAddress = ServeOptions.defaultAdminListen
    /// How often the routing table file is checked for a change (hot reload); zero: not watched.
    package var configWatchInterval: Duration = .milliseconds(250)

    /// Which store answers ingest: the real outbox, or (benchmarks only) no store at all.
    package enum StoreMode: String, Sendable, CaseIterable {
        case grouped
        case perRequest = "per-request"
        case none
    }

    package static let defaultConfigPath = "routes/routes.yaml"
    package static let defaultDataDirectory = "./data"
    package static let defaultAdminListen = ListenAddress(host: "127.0.0.1", port: 8081)

    package init(configPath: String = ServeOptions.defaultConfigPath, dataDirectory: String = ServeOptions.defaultDataDirectory,
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
