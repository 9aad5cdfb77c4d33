// RFC 9457 problem details: every error answer of the listener is built here.
import Hummingbird
import RelayCore

package struct Problem: Sendable {
    package var status: HTTPResponse.Status
    package var slug: String
    package var title: String
    package var detail: String
    package var errors: [FieldError]
    package var extraHeaders: HTTPFields

    package init(_ status: HTTPResponse.Status, slug: String, title: String, detail: String,
                errors: [FieldError] = [], extraHeaders: HTTPFields = [:]) {
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.extraHeaders = extraHeaders
    }

    /// The body: `type`, `title`, `status`, `detail` and, for validation, `errors: [{field, reason}]`.
    package func jsonBody(instance: String?) -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: Array("{\"type\":".utf8))
        JSONString.appendQuoted("urn:audience-relay:problem:\(slug)", to: &out)
        out.append(contentsOf: Array(",\"title\":".utf8))
        JSONString.appendQuoted(title, to: &out)
        out.append(contentsOf: Array(",\"status\":\(status.code),\"detail\":".utf8))
        JSONString.appendQuoted(detail, to: &out)
        if let instance {
            out.append(contentsOf: Array(",\"instance\":".utf8))
            JSONString.appendQuoted(instance, to: &out)
        }
        if !errors.isEmpty {
            out.append(contentsOf: Array(",\"errors\":[".utf8))
            for (i, error) in errors.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: Array("{\"field\":".utf8))
                JSONString.appendQuoted(error.field, to: &out)
                out.append(contentsOf: Array(",\"reason\":".utf8))
                JSONString.appendQuoted(error.reason, to: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    package func response(instance: String? = nil) -> Response {
        var headers = extraHeaders
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: jsonBody(instance: instance))))
    }
}

extension Problem {
    static func notFound(_ path: String) -> Problem {
        Problem(.notFound, slug: "unknown-source", title: "Unknown source path",
                detail: "no source is configured for path \(path)")
    }
    static func methodNotAllowed(_ method: String) -> Problem {
        Problem(.methodNotAllowed, slug: "method-not-allowed", title: "Method not allowed",
                detail: "\(method) is not accepted here; send POST", extraHeaders: [.allow: "POST"])
    }
    static func unsupportedMediaType(_ contentType: String?) -> Problem {
        Problem(.unsupportedMediaType, slug: "unsupported-media-type", title: "Content type must be JSON",
                detail: "Content-Type must be application/json (got \(contentType.map { "'\($0)'" } ?? "none"))")
    }
    static func tooLarge(limit: Int) -> Problem {
        Problem(.contentTooLarge, slug: "body-too-large", title: "Body too large",
                detail: "the request body exceeds this source's limit of \(limit) bytes")
    }
    static func unauthorized(_ failure: AuthFailure) -> Problem {
        var headers: HTTPFields = [:]
        if let challenge = failure.challenge { headers[.wwwAuthenticate] = challenge }
        return Problem(.unauthorized, slug: "unauthorized", title: "Unauthorized", detail: failure.reason, extraHeaders: headers)
    }
    static func malformed(_ error: BodyParseError) -> Problem {
        Problem(.badRequest, slug: "malformed-body", title: "Malformed JSON body", detail: error.reason)
    }
    static func invalid(_ failure: ValidationFailure) -> Problem {
        Problem(.unprocessableContent, slug: "invalid-fields", title: "Invalid fields",
                detail: "\(failure.errors.count) field(s) are invalid; see errors", errors: failure.errors)
    }
    static func unavailable(_ error: StoreUnavailableDetail) -> Problem {
        Problem(.serviceUnavailable, slug: "unavailable", title: "Temporarily unavailable",
                detail: "the event was not stored: \(error.reason); retry later",
                extraHeaders: [.retryAfter: String(error.retryAfterSeconds)])
    }
}

/// What a 503 says (decoupled from the store's error type so other failures can map here too).
struct StoreUnavailableDetail {
    var reason: String
    var retryAfterSeconds: Int
}
