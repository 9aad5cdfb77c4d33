// audience-relay command line: argument parsing only; everything else lives in RelayApp.
import ArgumentParser
import Foundation
import Logging
import RelayApp
import RelayCore

@main
struct AudienceRelay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audience-relay",
        abstract: "Webhook relay and message gateway for audience-activation pipelines.",
        subcommands: [Serve.self, Routes.self, Outbox.self, Export.self, Demo.self, MockKafka.self])
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the relay: listener, outbox, dispatcher.")

    @Option(help: "Routing table (env RELAY_CONFIG).")
    var config: String = ProcessInfo.processInfo.environment["RELAY_CONFIG"] ?? ServeOptions.defaultConfigPath

    @Option(name: .customLong("data-dir"), help: "Directory of the SQLite outbox (env RELAY_DATA_DIR).")
    var dataDir: String = ProcessInfo.processInfo.environment["RELAY_DATA_DIR"] ?? ServeOptions.defaultDataDirectory

    @Option(help: "Listen address host:port (env RELAY_LISTEN).")
    var listen: String = ProcessInfo.processInfo.environment["RELAY_LISTEN"] ?? ListenAddress.default.description

    @Option(help: "postgres://USER@HOST:PORT/DB for the shared PostgreSQL outbox (env RELAY_OUTBOX); default: SQLite in --data-dir.")
    var outbox: String? = ProcessInfo.processInfo.environment["RELAY_OUTBOX"]

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env RELAY_LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["RELAY_LOG_LEVEL"] ?? "info"

    @Option(help: "How long delivered rows are kept (also the dedupe window), e.g. 24h (env RELAY_RETENTION).")
    var retention: String = ProcessInfo.processInfo.environment["RELAY_RETENTION"] ?? "24h"

    @Option(name: .customLong("shutdown-grace"), help: "How long SIGTERM waits for requests and deliveries in flight, e.g. 30s (env RELAY_SHUTDOWN_GRACE); a second SIGTERM ends at once.")
    var shutdownGrace: String = ProcessInfo.processInfo.environment["RELAY_SHUTDOWN_GRACE"] ?? "30s"

    @Option(name: .customLong("config-poll"), help: "How often the routing table file is checked for changes, e.g. 250ms; 0 turns the watch off (SIGHUP and the admin API still reload) (env RELAY_CONFIG_POLL).")
    var configPoll: String = ProcessInfo.processInfo.environment["RELAY_CONFIG_POLL"] ?? "250ms"

    @Option(name: .customLong("export-jobs"), help: "Most export jobs fetched and forwarded at once (env RELAY_EXPORT_JOBS).")
    var exportJobs: Int = Int(ProcessInfo.processInfo.environment["RELAY_EXPORT_JOBS"] ?? "") ?? 2

    @Option(name: .customLong("admin-listen"), help: "Admin API address host:port, default 127.0.0.1:8081 (env RELAY_ADMIN_LISTEN).")
    var adminListen: String? = ProcessInfo.processInfo.environment["RELAY_ADMIN_LISTEN"]

    @Option(name: .customLong("admin-token-file"), help: "File holding the admin API's bearer token; the API starts only with a token (or env RELAY_ADMIN_TOKEN).")
    var adminTokenFile: String?

    /// The admin token from --admin-token-file, else RELAY_ADMIN_TOKEN; nil leaves the admin API off.
    func adminToken() throws -> String? {
        if let adminTokenFile {
            guard let data = FileManager.default.contents(atPath: adminTokenFile),
                  let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                throw ValidationError("--admin-token-file \(adminTokenFile) cannot be read or is empty")
            }
            return text
        }
        let fromEnvironment = ProcessInfo.processInfo.environment["RELAY_ADMIN_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        return fromEnvironment?.isEmpty == false ? fromEnvironment : nil
    }

    @Option(name: .customLong("commit-mode"), help: ArgumentHelp("grouped (default), per-request or none — the last two exist for the ingest benchmark.", visibility: .hidden))
    var commitMode: String = "grouped"

    func run() async throws {
        guard let address = ListenAddress(parsing: listen) else {
            throw ValidationError("--listen must be host:port, e.g. 127.0.0.1:8080 (got '\(listen)')")
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard let mode = ServeOptions.StoreMode(rawValue: commitMode) else {
            throw ValidationError("--commit-mode must be grouped, per-request or none")
        }
        guard let retentionDuration = ConfigValues.duration(retention) else {
            throw ValidationError("--retention must be a duration such as 24h or 7d (got '\(retention)')")
        }
        guard exportJobs >= 1 else { throw ValidationError("--export-jobs must be at least 1") }
        var options = ServeOptions(configPath: config, dataDirectory: dataDir, listen: address,
                                   outboxURL: outbox, commitMode: mode, logLevel: level,
                                   deliveredRetention: retentionDuration)
        options.exportJobs = exportJobs
        guard let grace = ConfigValues.duration(shutdownGrace), grace > .zero else {
            throw ValidationError("--shutdown-grace must be a positive duration such as 30s (got '\(shutdownGrace)')")
        }
        options.shutdownGracePeriod = grace
        guard let poll = configPoll == "0" ? .zero : ConfigValues.duration(configPoll) else {
            throw ValidationError("--config-poll must be a duration such as 250ms, or 0 (got '\(configPoll)')")
        }
        options.configWatchInterval = poll
        if let adminListen {
            guard let address = ListenAddress(parsing: adminListen) else {
                throw ValidationError("--admin-listen must be host:port, e.g. 127.0.0.1:8081 (got '\(adminListen)')")
            }
            options.adminListen = address
        }
        options.adminToken = try adminToken()
        let status = await RelayServer.serve(options)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Routes: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate and explain routing tables.", subcommands: [Check.self, Explain.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a routing table; print every error with line and column.")
        @Argument(help: "Routing table file.") var file: String

        func run() throws {
            let (output, ok) = RoutesCommands.check(path: file)
            print(output)
            if !ok { throw ExitCode(1) }
        }
    }

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show which routes an event matches and exactly what would be sent where.")
        @Argument(help: "Routing table file.") var file: String
        @Argument(help: "Event JSON file.") var event: String
        @Option(help: "Source name (default: every source the event is valid for).") var source: String?

        func run() throws {
            let (output, ok) = RoutesCommands.explain(path: file, eventPath: event, sourceName: source)
            print(output)
            if !ok { throw ExitCode(1) }
        }
    }
}

struct Outbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect the outbox: depth, dead letters, replay.",
                                                    subcommands: [Stats.self, Dead.self, Replay.self])

    struct Location: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "Directory of the SQLite outbox (env RELAY_DATA_DIR).")
        var dataDir: String = ProcessInfo.processInfo.environment["RELAY_DATA_DIR"] ?? ServeOptions.defaultDataDirectory
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pending depth, oldest pending age, dead and delivered counts per destination.")
        @OptionGroup var location: Location
        func run() async throws { print(try await OutboxCommands.stats(dataDirectory: location.dataDir)) }
    }

    struct Dead: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead-lettered deliveries with their reasons.")
        @OptionGroup var location: Location
        @Option(help: "Only this destination.") var destination: String?
        @Option(help: "At most this many.") var limit: Int = 100
        func run() async throws {
            print(try await OutboxCommands.dead(dataDirectory: location.dataDir, destination: destination, limit: limit))
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-queue dead deliveries by id, or every dead delivery of a destination.")
        @OptionGroup var location: Location
        @Option(help: "Every dead delivery of this destination.") var destination: String?
        @Argument(help: "Delivery ids (from `outbox dead`).") var ids: [Int64] = []
        func validate() throws {
            if ids.isEmpty && destination == nil { throw ValidationError("give delivery ids or --destination") }
        }
        func run() async throws {
            print(try await OutboxCommands.replay(dataDirectory: location.dataDir, ids: ids, destination: destination))
        }
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect export jobs; run a dead one again.", subcommands: [Status.self, Retry.self])

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the dead export job of an executionRef again from its checkpoint.")
        @OptionGroup var location: Outbox.Location
        @Argument(help: "executionRef of the export to run again.") var executionRef: String
        func run() async throws {
            let (message, ok) = try await ExportCommands.retry(dataDirectory: location.dataDir, executionRef: executionRef)
            print(message)
            if !ok { throw ExitCode(1) }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export jobs and their progress; one job in detail with its executionRef.")
        @OptionGroup var location: Outbox.Location
        @Option(help: "At most this many jobs.") var limit: Int = 50
        @Argument(help: "executionRef of the export to show in detail.") var executionRef: String?
        func run() async throws {
            print(try await ExportCommands.status(dataDirectory: location.dataDir, executionRef: executionRef, limit: limit))
        }
    }
}

struct MockKafka: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-kafka",
        abstract: "Run librdkafka's mock Kafka cluster on loopback; prints its bootstrap address, runs until SIGTERM. "
            + "SIGUSR1 takes every broker down, SIGUSR2 brings them back up.")
    @Option(help: "Number of mock brokers.") var brokers: Int = 3
    func run() async throws { try await MockKafkaCommand.run(brokers: brokers) }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The whole flow with no external services: the relay on its embedded Kafka, a local export host, "
            + "a Sitecore notification posted, its records read back; exit 0 when everything arrived.")
    @Option(help: "Records in the generated export.") var records: Int = 10_000
    @Option(help: "How long everything has to arrive, e.g. 60s.") var timeout: String = "60s"
    @Flag(name: .customLong("keep-data"), help: "Keep the temporary directory (routing table and outbox).") var keepData = false

    func run() async throws {
        guard records >= 1 else { throw ValidationError("--records must be at least 1") }
        guard let duration = ConfigValues.duration(timeout), duration > .zero else {
            throw ValidationError("--timeout must be a positive duration such as 60s (got '\(timeout)')")
        }
        let status = await DemoCommand.run(DemoOptions(records: records, timeout: duration, keepData: keepData))
        if status != 0 { throw ExitCode(status) }
    }
}
