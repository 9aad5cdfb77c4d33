// The inbound pipeline for one source request: auth → content checks → parse → validate → route → store.
import Foundation
import Hummingbird
import Logging
import RelayCore
import RelayOutbox

struct IngestHandler: Sendable {
    let store: any EventStore
    let metrics: IngestMetrics
    let clock: @Sendable () -> Date

    /// Either the success response or the problem that ends the request, with the metrics outcome.
    func handle(_ request: Request, source: SourceConfig, snapshot: RoutingSnapshot, logger: Logger) async -> (Response, IngestMetrics.Outcome) {
        let auth = snapshot.auth[source.name] ?? .none
        let header: (String) -> String? = { name in request.headers.first { $0.name.canonicalName == name }?.value }

        // Header-only credentials are checked before the body is read, so strangers cost nothing.
        if case .standardWebhooks = auth {} else if let failure = AuthVerifier.verify(auth, header: header, body: [], now: clock()) {
            return (Problem.unauthorized(failure).response(), .unauthorized)
        }
        guard Self.isJSON(request.headers[.contentType]) else {
            return (Problem.unsupportedMediaType(request.headers[.contentType]).response(), .unsupportedMediaType)
        }
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > source.maxBodyBytes {
            return (Problem.tooLarge(limit: source.maxBodyBytes).response(), .tooLarge)
        }
        let body: [UInt8]
        do {
            body = try await BodyReader.read(request.body, limit: source.maxBodyBytes, expected: declared)
        } catch is BodyReader.TooLarge {
            return (Problem.tooLarge(limit: source.maxBodyBytes).response(), .tooLarge)
        } catch {
            return (Problem(.badRequest, slug: "unreadable-body", title: "Body could not be read", detail: "\(error)").response(), .malformed)
        }
        if case .standardWebhooks = auth, let failure = AuthVerifier.verify(auth, header: header, body: body, now: clock()) {
            return (Problem.unauthorized(failure).response(), .unauthorized)
        }

        let object: [String: JSONValue]
        do {
            object = try JSONBodyParser.parseObject(body)
        } catch {
            return (Problem.malformed(error).response(), .malformed)
        }
        let payload: ValidatedPayload
        switch PayloadValidator.validate(object, rules: source.rules) {
        case .success(let valid): payload = valid
        case .failure(let failure): return (Problem.invalid(failure).response(), .invalid)
        }

        let plan = FanOut.plan(source: source, fields: payload.fields, table: snapshot.table)
        let event = NewEvent(
            id: EventID.make(), source: source.name, type: source.kind.eventType,
            subject: payload.subject, dedupeKey: payload.dedupeKey, receivedAt: clock(), body: body,
            deliveries: plan.deliveries, export: plan.export)
        let result: AppendResult
        do {
            result = try await store.append(event)
        } catch {
            logger.error("event not stored; answering 503", metadata: ["source": "\(source.name)", "reason": "\(error.reason)"])
            return (Problem.unavailable(StoreUnavailableDetail(reason: error.reason, retryAfterSeconds: error.retryAfterSeconds)).response(), .unavailable)
        }
        logger.debug("event accepted", metadata: [
            "event_id": "\(result.id)", "source": "\(source.name)", "duplicate": "\(result.duplicate)",
            "deliveries": "\(plan.deliveries.count)", "routes": "\(plan.matchedRoutes.joined(separator: ","))",
        ])
        return (Self.accepted(result, deliveries: result.duplicate ? 0 : plan.deliveries.count), result.duplicate ? .duplicate : .accepted)
    }

    /// `application/json`, or any `application/<x>+json`, parameters allowed.
    /// `application/json` or `application/*+json`, parameters ignored, case-insensitive. Done on
    /// the bytes: Foundation's trimming and lowercasing cost ~5% of a request.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        var mediaType: [UInt8] = []
        mediaType.reserveCapacity(32)
        for byte in contentType.utf8 {
            if byte == UInt8(ascii: ";") { break }
            mediaType.append(byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte)
        }
        while let last = mediaType.last, last == 0x20 || last == 0x09 { mediaType.removeLast() }
        let start = mediaType.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? mediaType.endIndex
        let media = mediaType[start...]
        let application = Array("application/".utf8)
        guard media.starts(with: application) else { return false }
        return media.elementsEqual("application/json".utf8) || (media.count > application.count + 5 && media.suffix(5).elementsEqual("+json".utf8))
    }

    /// `200 application/json` with `{"id": ..., "duplicate": ..., "deliveries": n}`.
    static func accepted(_ result: AppendResult, deliveries: Int) -> Response {
        var out: [UInt8] = Array("{\"id\":".utf8)
        JSONString.appendQuoted(result.id.rawValue, to: &out)
        out.append(contentsOf: Array(",\"duplicate\":\(result.duplicate),\"deliveries\":\(deliveries)}".utf8))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }
}
