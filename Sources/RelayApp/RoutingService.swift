// The one owner of the routing table: loads it, reloads it (SIGHUP, file change, admin API) and pushes
// each new snapshot down to the listener, the dispatcher and the export runner.
import Foundation
import Logging
import Metrics
import RelayCore
import RelayDelivery
import RelayExport
import RelayHTTP
import ServiceLifecycle
import Synchronization
import UnixSignals

/// What asked for a reload.
package enum ReloadTrigger: String, Sendable {
    case signal = "SIGHUP"
    case fileChange = "file change"
    case admin = "admin API"
}

/// How a reload ended.
package enum ReloadOutcome: Sendable, Equatable {
    /// The new table runs; `changes` says what differs from the previous one.
    case applied(changes: [String])
    /// The running table was kept; why the new one was refused (with file:line:column where there is one).
    case rejected(errors: [String])
}

/// Serializes reloads (one at a time, in the order asked) and owns the sinks of the current table.
final class RoutingService: Service, Sendable {
    private struct Current: Sendable {
        var snapshot: RoutingSnapshot
        var sinks: [String: any Sink]
        /// Bytes of the file as last read by a reload, to ignore a change of its time stamp alone.
        var fileBytes: [UInt8]?
    }

    private struct Request: Sendable {
        var trigger: ReloadTrigger
        var done: CheckedContinuation<ReloadOutcome, Never>?
    }

    let path: String
    let listener: ActiveRouting
    private let dispatcher: Dispatcher
    private let exports: ExportRunner
    private let factory: SinkFactory
    private let environment: [String: String]
    private let watchInterval: Duration
    private let logger: Logger
    private let current: Mutex<Current>
    private let requests: AsyncStream<Request>
    private let requestInput: AsyncStream<Request>.Continuation
    private let applied = Counter(label: "relay_config_reloads_total", dimensions: [("outcome", "applied")])
    private let rejected = Counter(label: "relay_config_reloads_total", dimensions: [("outcome", "rejected")])

    init(path: String, snapshot: RoutingSnapshot, sinks: [String: any Sink], listener: ActiveRouting, dispatcher: Dispatcher,
         exports: ExportRunner, factory: SinkFactory, environment: [String: String] = ProcessInfo.processInfo.environment,
         watchInterval: Duration = .milliseconds(250), logger: Logger) {
        self.path = path
        self.listener = listener
        self.dispatcher = dispatcher
        self.exports = exports
        self.factory = factory
        self.environment = environment
        self.watchInterval = watchInterval
        self.logger = logger
        current = Mutex(Current(snapshot: snapshot, sinks: sinks, fileBytes: FileManager.default.contents(atPath: path).map { [UInt8]($0) }))
        (requests, requestInput) = AsyncStream.makeStream(of: Request.self)
        // Zero series exist from the start, so a dashboard's rate() sees the first reload.
        applied.increment(by: 0)
        rejected.increment(by: 0)
    }

    var snapshot: RoutingSnapshot { current.withLock { $0.snapshot } }

    /// The current table's sinks by destination name.
    var sinks: [String: any Sink] { current.withLock { $0.sinks } }

    /// Reloads now and answers how it went (the admin API). Rejected while shutting down.
    func reload(_ trigger: ReloadTrigger) async -> ReloadOutcome {
        await withCheckedContinuation { continuation in
            if case .terminated = requestInput.yield(Request(trigger: trigger, done: continuation)) {
                continuation.resume(returning: .rejected(errors: ["the relay is shutting down"]))
            }
        }
    }

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await _ in hangups { self.requestInput.yield(Request(trigger: .signal)) }
                }
                if watchInterval > .zero { group.addTask { await self.watchFile() } }
                for await request in requests {
                    let outcome = await perform(request.trigger)
                    request.done?.resume(returning: outcome)
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.requestInput.finish()
        }
    }

    // MARK: - Reloading

    private func perform(_ trigger: ReloadTrigger) async -> ReloadOutcome {
        let bytes = FileManager.default.contents(atPath: path).map { [UInt8]($0) }
        if trigger == .fileChange {
            // A new time stamp on the same bytes (touch, a ConfigMap re-sync) changes nothing.
            let same = current.withLock { current in
                defer { current.fileBytes = bytes }
                return current.fileBytes == bytes
            }
            if same { return .applied(changes: []) }
        }
        let snapshot: RoutingSnapshot
        do {
            snapshot = try RoutingTableFile.loadSnapshot(path: path, environment: environment)
        } catch let errors as ConfigErrors {
            return reject(trigger, errors.errors.map(\.description))
        } catch let problems as SecretProblems {
            return reject(trigger, problems.messages)
        } catch {
            return reject(trigger, ["\(error)"])
        }
        let (old, oldSinks) = current.withLock { ($0.snapshot, $0.sinks) }
        var reuse: [String: (config: DestinationConfig, sink: any Sink)] = [:]
        for destination in old.table.destinations {
            if let sink = oldSinks[destination.name] { reuse[destination.name] = (destination, sink) }
        }
        let sinks: [String: any Sink]
        do {
            sinks = try await factory.makeSinks(for: snapshot.table.destinations, reusing: reuse)
        } catch {
            return reject(trigger, ["\(path): cannot set up a destination: \(error)"])
        }
        // Downhill, listener first: once it routes by the new table no new row names a removed
        // destination, and then the dispatcher retires that destination's worker.
        listener.replace(with: snapshot)
        let retired = await dispatcher.apply(destinations: snapshot.table.destinations, sinks: sinks)
        exports.apply(table: snapshot.table, sinks: sinks)
        current.withLock { current in
            current.snapshot = snapshot
            current.sinks = sinks
            current.fileBytes = bytes
        }
        for sink in retired { await sink.shutdown() }
        for warning in RoutingTableWarnings.warnings(snapshot.table) {
            logger.warning("routing table", metadata: ["path": "\(path)", "warning": "\(warning)"])
        }
        let changes = Self.changes(from: old.table, to: snapshot.table)
        applied.increment()
        logger.notice("routing table reloaded", metadata: [
            "trigger": "\(trigger.rawValue)", "path": "\(path)", "changes": "\(changes.isEmpty ? "none" : changes.joined(separator: "; "))",
            "sources": "\(snapshot.table.sources.count)", "destinations": "\(snapshot.table.destinations.count)",
            "routes": "\(snapshot.table.routes.count)",
        ])
        return .applied(changes: changes)
    }

    private func reject(_ trigger: ReloadTrigger, _ errors: [String]) -> ReloadOutcome {
        rejected.increment()
        logger.error("routing table reload rejected; the running table stays", metadata: [
            "trigger": "\(trigger.rawValue)", "path": "\(path)", "errors": "\(errors.joined(separator: "\n"))",
        ])
        return .rejected(errors: errors)
    }

    /// What an operator wants to read in the log and the admin answer: names added and removed, and
    /// destinations whose settings changed (their workers restart with the new settings).
    static func changes(from old: RoutingTable, to new: RoutingTable) -> [String] {
        var changes: [String] = []
        func compare(_ kind: String, _ before: [String], _ after: [String]) {
            let added = Set(after).subtracting(before).sorted()
            let removed = Set(before).subtracting(after).sorted()
            if !added.isEmpty { changes.append("\(kind) added: \(added.joined(separator: ", "))") }
            if !removed.isEmpty { changes.append("\(kind) removed: \(removed.joined(separator: ", "))") }
        }
        compare("sources", old.sources.map(\.name), new.sources.map(\.name))
        compare("destinations", old.destinations.map(\.name), new.destinations.map(\.name))
        let changed = new.destinations.filter { destination in
            old.destination(named: destination.name).map { $0 != destination } ?? false
        }.map(\.name).sorted()
        if !changed.isEmpty { changes.append("destinations changed: \(changed.joined(separator: ", "))") }
        compare("routes", old.routes.map(\.name), new.routes.map(\.name))
        return changes
    }

    // MARK: - Watching the file

    /// Polls the file's identity (device, inode, size, modification time — following symlinks, so a
    /// Kubernetes ConfigMap's `..data` swap and an editor's write-and-rename both count) and asks for a
    /// reload once a change has held still for one more poll.
    private func watchFile() async {
        var last = FileIdentity(path: path)
        while !Task.isCancelled {
            try? await Task.sleep(for: watchInterval)
            let seen = FileIdentity(path: path)
            guard seen != last else { continue }
            try? await Task.sleep(for: min(watchInterval, .milliseconds(100)))
            guard !Task.isCancelled, FileIdentity(path: path) == seen else { continue }
            last = seen
            if seen != nil { requestInput.yield(Request(trigger: .fileChange)) }
        }
    }
}

/// What tells one version of a file from the next without reading it: the file a path leads to after
/// its symlinks (a ConfigMap's `..data` swap changes that), its inode, size and modification time.
private struct FileIdentity: Equatable {
    var resolvedPath: String
    var device: Int
    var inode: Int
    var size: Int
    var modified: Date

    init?(path: String) {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved) else { return nil }
        resolvedPath = resolved
        device = (attributes[.systemNumber] as? NSNumber)?.intValue ?? 0
        inode = (attributes[.systemFileNumber] as? NSNumber)?.intValue ?? 0
        size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        modified = attributes[.modificationDate] as? Date ?? .distantPast
    }
}
