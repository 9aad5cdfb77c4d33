// Builds the sink of a destination of the routing table over the process's shared clients.
import Logging
import RelayCore
import RelayDelivery

struct SinkFactory: Sendable {
    let clients: RelayClients
    let secrets: SecretResolver
    let logger: Logger

    func makeSink(for destination: DestinationConfig) throws -> any Sink {
        switch destination.kind {
        case .kafka(let kafka):
            return try KafkaSink(name: destination.name, destination: kafka, clusters: clients.kafka, logger: logger)
        case .http(let http):
            let key = try http.signingSecret.map { try secrets.webhookKey($0) }
            return HTTPSink(name: destination.name, destination: http, signingKey: key, client: clients.http, logger: logger)
        }
    }

    /// One sink per destination; the sinks of `reuse` are kept where a destination is unchanged. On an
    /// error the sinks made so far are shut down again.
    func makeSinks(for destinations: [DestinationConfig], reusing reuse: [String: (config: DestinationConfig, sink: any Sink)] = [:])
        async throws -> [String: any Sink] {
        var sinks: [String: any Sink] = [:]
        var made: [any Sink] = []
        do {
            for destination in destinations {
                if let existing = reuse[destination.name], existing.config == destination {
                    sinks[destination.name] = existing.sink
                } else {
                    let sink = try makeSink(for: destination)
                    sinks[destination.name] = sink
                    made.append(sink)
                }
            }
        } catch {
            for sink in made { await sink.shutdown() }
            throw error
        }
        return sinks
    }
}
