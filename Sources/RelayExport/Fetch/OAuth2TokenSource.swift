// OAuth2TokenSource: one source's client-credentials token — requested from the token URL, cached until
// shortly before it expires, fetched by one caller at a time, dropped after a 401.

import Foundation
import Logging
import RelayCore
import RelayCurl

/// The OAuth2 client-credentials token of one source: cached, refreshed by one caller at a time.
actor OAuth2TokenSource {
    private struct Token {
        var header: String
        var refreshAt: ContinuousClock.Instant
    }

    /// nil: the leader was cancelled before it had an answer; the waiter tries again.
    private typealias Waiter = CheckedContinuation<Result<String, ExportFetchFailure>?, Never>

    /// Token lifetime assumed when the endpoint sends no `expires_in`.
    private static let defaultLifetime: Duration = .seconds(300)

    private let source: String
    private let settings: OAuth2ClientCredentials
    private let policy: ExportURLPolicy
    private let client: CurlClient
    private let secrets: ExportCredentialProvider.SecretReader
    private let requestTimeout: Duration
    private let logger: Logger
    private let now: @Sendable () -> ContinuousClock.Instant
    private let wallClock: @Sendable () -> Date

    private var token: Token?
    private var refreshing = false
    private var waiters: [Waiter] = []

    init(
        source: String, settings: OAuth2ClientCredentials, policy: ExportURLPolicy, client: CurlClient,
        secrets: @escaping ExportCredentialProvider.SecretReader, requestTimeout: Duration, logger: Logger,
        now: @escaping @Sendable () -> ContinuousClock.Instant, wallClock: @escaping @Sendable () -> Date
    ) {
        self.source = source
        self.settings = settings
        self.policy = policy
        self.client = client
        self.secrets = secrets
        self.requestTimeout = requestTimeout
        self.logger = logger
        self.now = now
        self.wallClock = wallClock
    }

    func header() async throws(ExportFetchFailure) -> String {
        while true {
            if let token, now() < token.refreshAt { return token.header }
            if refreshing {
                let outcome: Result<String, ExportFetchFailure>? = await withCheckedContinuation { waiters.append($0) }
                if let outcome { return try outcome.get() }
                continue
            }
            refreshing = true
            let outcome = await requestToken()
            refreshing = false
            let waiting = waiters
            waiters.removeAll()
            switch outcome {
            case .success(let fresh):
                token = fresh
                for waiter in waiting { waiter.resume(returning: .success(fresh.header)) }
                return fresh.header
            case .failure(let failure):
                // A cancelled leader says nothing about the endpoint: the others try themselves.
                let shared: Result<String, ExportFetchFailure>?
                if case .cancelled = failure { shared = nil } else { shared = .failure(failure) }
                for waiter in waiting { waiter.resume(returning: shared) }
                throw failure
            }
        }
    }

    func invalidate(_ header: String) {
        if token?.header == header { token = nil }
    }

    /// One token request (RFC 6749 §4.4): form-encoded grant, client authenticated with HTTP basic.
    private func requestToken() async -> Result<Token, ExportFetchFailure> {
        let context = "source \(source): OAuth2 token endpoint"
        let url: CurlURL
        let secret: String
        do throws(ExportFetchFailure) {
            url = try policy.checkConfigured(settings.tokenURL, context: "\(context) (tokenUrl)")
            secret = try readSecret(settings.clientSecret, what: "OAuth2 client secret", source: source, secrets: secrets)
        } catch {
            return .failure(error)
        }
        var form = [("grant_type", "client_credentials")]
        if let scope = settings.scope, !scope.isEmpty { form.append(("scope", scope)) }
        for parameter in settings.extraParameters { form.append((parameter.name, parameter.value)) }
        let body = form.map { "\(formEncoded($0.0))=\(formEncoded($0.1))" }.joined(separator: "&")
        let basic = Data("\(formEncoded(settings.clientID)):\(formEncoded(secret))".utf8).base64EncodedString()
        let request = HTTPRequestSpec(
            method: "POST", url: url.text,
            headers: [
                (name: "Authorization", value: "Basic \(basic)"),
                (name: "Content-Type", value: "application/x-www-form-urlencoded"),
                (name: "Accept", value: "application/json"),
            ],
            body: Array(body.utf8), connectTimeout: min(requestTimeout, .seconds(10)), totalTimeout: requestTimeout
        )
        let endpoint = "\(context) \(url.redacted)"
        let result: HTTPResult
        do {
            result = try await client.execute(request)
        } catch {
            return .failure(transportFailure(error, context: endpoint))
        }
        let status = result.head.status
        guard status == 200 else {
            let excerpt = bodyExcerpt(result.body)
            let reason = "\(endpoint) answered \(status)\(excerpt.isEmpty ? "" : ": \(excerpt)")"
            if status == 429 || (500...599).contains(status) {
                let after = result.head.header("Retry-After").flatMap { RetryAfter.parse($0, now: wallClock(), cap: exportMaxRetryAfter) }
                return .failure(.retry(after: after, reason: reason))
            }
            return .failure(.rejected(status: status, reason: reason))
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(result.body))) as? [String: Any],
              let accessToken = object["access_token"] as? String, !accessToken.isEmpty
        else {
            return .failure(.rejected(status: status, reason: "\(endpoint) answered 200 without an access_token: \(bodyExcerpt(result.body))"))
        }
        let lifetime = Self.lifetime(object["expires_in"])
        let margin = min(lifetime / 10, .seconds(60))
        logger.debug("fetched an OAuth2 token", metadata: ["source": "\(source)", "expires_in": "\(lifetime)"])
        return .success(Token(header: "Bearer \(accessToken)", refreshAt: now() + lifetime - margin))
    }

    /// `expires_in` as a number or a numeric string; the default when absent or not positive.
    private static func lifetime(_ value: Any?) -> Duration {
        let seconds: Double?
        switch value {
        case let number as NSNumber: seconds = number.doubleValue
        case let text as String: seconds = Double(text)
        default: seconds = nil
        }
        guard let seconds, seconds > 0, seconds.isFinite else { return defaultLifetime }
        return .milliseconds(Int64(min(seconds, 366 * 86_400) * 1000))
    }
}

/// `application/x-www-form-urlencoded` encoding of one name or value (RFC 6749 §2.3.1, Appendix B).
private func formEncoded(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "*"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        case UInt8(ascii: " "):
            out.append("+")
        default:
            out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
        }
    }
    return out
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
