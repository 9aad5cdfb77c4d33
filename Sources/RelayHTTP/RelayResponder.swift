// The listener's single responder: operations endpoints plus one ingest endpoint per configured source.
import Foundation
import Hummingbird
import Logging
import RelayCore
import RelayOutbox

/// Answers for `/readyz` and `/metrics`, supplied by the application that owns the checks.
package struct OperationsEndpoints: Sendable {
    package var readiness: @Sendable () async -> (ready: Bool, detail: String)
    package var metrics: @Sendable () async -> String

    package init(readiness: @escaping @Sendable () async -> (ready: Bool, detail: String) = { (true, "ok") },
                metrics: @escaping @Sendable () async -> String = { "" }) {
        self.readiness = readiness
        self.metrics = metrics
    }
}

package struct RelayResponder: HTTPResponder {
    package typealias Context = BasicRequestContext

    let routing: ActiveRouting
    let ingest: IngestHandler
    let operations: OperationsEndpoints
    let metrics: IngestMetrics

    package init(routing: ActiveRouting, store: any EventStore, operations: OperationsEndpoints = OperationsEndpoints(),
                metrics: IngestMetrics = IngestMetrics(), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.routing = routing
        self.ingest = IngestHandler(store: store, metrics: metrics, clock: clock)
        self.operations = operations
        self.metrics = metrics
    }

    package func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        switch path {
        case "/healthz":
            return Self.json(.ok, "{\"status\":\"alive\"}")
        case "/readyz":
            let (ready, detail) = await operations.readiness()
            return Self.json(ready ? .ok : .serviceUnavailable,
                             "{\"status\":\(JSONString.quoted(ready ? "ready" : "not ready")),\"detail\":\(JSONString.quoted(detail))}")
        case "/metrics":
            let text = await operations.metrics()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        default:
            break
        }
        if path.hasPrefix("/admin/") || path == "/admin" {
            // The admin API has its own listener; here it does not exist.
            return Problem.notFound(path).response(instance: path)
        }
        let started = ContinuousClock.now
        let snapshot = routing.snapshot
        guard let source = snapshot.table.source(forPath: path) else {
            return Problem.notFound(path).response(instance: path)
        }
        guard request.method == .post else {
            metrics.record(source: source.name, outcome: .methodNotAllowed, nanoseconds: 0)
            return Problem.methodNotAllowed(request.method.rawValue).response(instance: path)
        }
        var logger = context.logger
        logger[metadataKey: "source"] = "\(source.name)"
        let (response, outcome) = await ingest.handle(request, source: source, snapshot: snapshot, logger: logger)
        let elapsed = ContinuousClock.now - started
        metrics.record(source: source.name, outcome: outcome,
                       nanoseconds: elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        return response
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
