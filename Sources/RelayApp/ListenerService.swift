// Runs an HTTP listener (the package one or the admin one) and turns a failure to bind into one clear error.
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Wraps a Hummingbird application: if it fails before it is listening, the error says which address
/// and why (`cannot listen on 127.0.0.1:8080: address already in use`), and the group ends the process.
struct ListenerService: Service {
    let name: String
    let address: ListenAddress
    let application: any Service
    let started: ListenerStarted

    /// How long a cancelled listener gets to close gracefully before it is cancelled outright.
    static let cancelledCloseTime: Duration = .seconds(2)

    func run() async throws {
        do {
            try await runShieldedFromCancellation()
        } catch {
            guard !started.isListening else { throw error }
            throw RelayStartupError(message: "cannot listen on \(address) (\(name)): \(Self.describe(error))")
        }
    }

    /// Runs the application in a task of its own so that cancelling the relay closes the listener the
    /// graceful way (stop accepting, finish the requests in flight) instead of tearing its channels down,
    /// which Hummingbird reports as errors; after ``cancelledCloseTime`` it is cancelled all the same.
    private func runShieldedFromCancellation() async throws {
        let group = ServiceGroup(configuration: .init(services: [application], logger: Logger(label: "listener", factory: { _ in SwiftLogNoOpLogHandler() })))
        let inner = Task { try await group.run() }
        try await withTaskCancellationHandler {
            try await inner.value
        } onCancel: {
            Task {
                await group.triggerGracefulShutdown()
                try? await Task.sleep(for: Self.cancelledCloseTime)
                inner.cancel()
            }
        }
    }

    /// "address already in use" rather than NIO's `bind(descriptor:ptr:bytes:): Address already in use (errno: 98)`.
    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError {
            let text = String(cString: strerror(io.errnoCode))
            return text.prefix(1).lowercased() + text.dropFirst()
        }
        return "\(error)"
    }
}

/// Set once the listener is bound (its `onServerRunning` ran).
final class ListenerStarted: Sendable {
    private let listening = Atomic<Bool>(false)

    init() {}

    var isListening: Bool { listening.load(ordering: .acquiring) }

    func markListening() { listening.store(true, ordering: .releasing) }
}
