// Runs an HTTP listener (the public one or the admin one) and turns a failure to bind into one clear error.
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

    func run() async throws {
        do {
            try await application.run()
        } catch {
            guard !started.isListening else { throw error }
            throw RelayStartupError(message: "cannot listen on \(address) (\(name)): \(Self.describe(error))")
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
