// The admin API (SPEC §8): its own listener, a bearer token compared in constant time, JSON answers.
import Foundation
import Hummingbird
import RelayCore
import RelayDelivery
import RelayHTTP

struct AdminResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let token: [UInt8]
    let administration: OutboxAdministration
    let dispatcher: Dispatcher
    let routing: RoutingService
    /// Largest request body the admin API reads (replay lists of ids).
    static let maxBodyBytes = 1 << 20

    func respond(to request: Request, context: Context) async throws -> Response {
        guard authorized(request) else {
            var problem = Problem(.unauthorized, slug: "unauthorized", title: "Unauthorized",
                                  detail: "the admin API needs 'Authorization: Bearer <token>' with the configured token")
            problem.extraHeaders[.wwwAuthenticate] = "Bearer"
            return problem.response(instance: request.uri.path)
        }
        do {
            return try await route(request)
        } catch let problem as AdminProblem {
            return problem.problem.response(instance: request.uri.path)
        } catch {
            return Problem(.internalServerError, slug: "admin-failed", title: "Admin request failed", detail: "\(error)")
                .response(instance: request.uri.path)
        }
    }

    private func authorized(_ request: Request) -> Bool {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        return ConstantTime.equals(Array(header.utf8.dropFirst(7)), token)
    }

    private func route(_ request: Request) async throws -> Response {
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.first == "admin" else { throw AdminProblem.notFound(request.uri.path) }
        let query = request.uri.queryParameters
        let rest = Array(parts.dropFirst())
        let method = request.method
        func expect(_ allowed: HTTPRequest.Method) throws {
            guard method == allowed else {
                throw AdminProblem(problem: Problem(.methodNotAllowed, slug: "method-not-allowed", title: "Method not allowed",
                                                    detail: "\(method.rawValue) is not allowed on \(request.uri.path); use \(allowed.rawValue)"))
            }
        }
        switch rest.count {
        case 1 where rest[0] == "stats":
            try expect(.get)
            return try json(await administration.stats(known: dispatcher.destinations, paused: dispatcher.pausedDestinations))
        case 1 where rest[0] == "dead":
            try expect(.get)
            let limit = query["limit"].flatMap { Int(String($0)) } ?? 1000
            return try json(await administration.deadLetters(destination: query["destination"].map(String.init), limit: limit))
        case 2 where rest == ["dead", "replay"]:
            try expect(.post)
            let body = try await decode(ReplayRequest.self, from: request)
            guard body.ids?.isEmpty == false || body.destination != nil else {
                throw AdminProblem.badRequest("give {\"ids\": [...]} or {\"destination\": \"...\"}")
            }
            return try json(Count(requeued: await administration.replay(ids: body.ids ?? [], destination: body.destination)))
        case 3 where rest[0] == "destinations" && (rest[2] == "pause" || rest[2] == "resume"):
            try expect(.post)
            let (name, pause) = (rest[1], rest[2] == "pause")
            guard dispatcher.setPaused(pause, destination: name) else {
                throw AdminProblem.notFound("no destination '\(name)' in the running routing table")
            }
            return try json(PauseState(destination: name, paused: pause))
        case 1 where rest[0] == "exports":
            try expect(.get)
            let limit = query["limit"].flatMap { Int(String($0)) } ?? 100
            return try json(await administration.exportJobViews(executionRef: query["executionRef"].map(String.init), limit: limit))
        case 3 where rest[0] == "exports" && rest[2] == "retry":
            try expect(.post)
            let count = try await administration.retryExport(executionRef: rest[1])
            guard count > 0 else { throw AdminProblem.notFound("no dead export job for executionRef \(rest[1])") }
            return try json(Count(requeued: count))
        case 1 where rest[0] == "reload":
            try expect(.post)
            switch await routing.reload(.admin) {
            case .applied(let changes):
                return try json(ReloadAnswer(outcome: "applied", changes: changes, errors: nil))
            case .rejected(let errors):
                return try json(ReloadAnswer(outcome: "rejected", changes: nil, errors: errors), status: .unprocessableContent)
            }
        default:
            throw AdminProblem.notFound(request.uri.path)
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        var buffer = try await request.body.collect(upTo: Self.maxBodyBytes)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw AdminProblem.badRequest("the body is not the JSON this endpoint takes: \(error)")
        }
    }

    private func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private struct ReplayRequest: Decodable {
        var ids: [Int64]?
        var destination: String?
    }

    private struct Count: Encodable {
        var requeued: Int
    }

    private struct PauseState: Encodable {
        var destination: String
        var paused: Bool
    }

    private struct ReloadAnswer: Encodable {
        var outcome: String
        var changes: [String]?
        var errors: [String]?
    }
}

/// An admin request that ends in a problem+json answer.
struct AdminProblem: Error {
    var problem: Problem

    static func notFound(_ detail: String) -> AdminProblem {
        AdminProblem(problem: Problem(.notFound, slug: "not-found", title: "Not found", detail: detail))
    }

    static func badRequest(_ detail: String) -> AdminProblem {
        AdminProblem(problem: Problem(.badRequest, slug: "bad-request", title: "Bad request", detail: detail))
    }
}
