// Checks one inbound request's credentials against its source's resolved auth settings.
import Foundation

/// Why a request was refused (maps to 401; the reason is safe to show the caller).
package struct AuthFailure: Error, Sendable, Equatable {
    package var reason: String
    /// Value for `WWW-Authenticate`, when the scheme has one.
    package var challenge: String?
}

package enum AuthVerifier {
    /// `header` looks a request header up case-insensitively.
    package static func verify(_ auth: ResolvedAuth, header: (String) -> String?, body: [UInt8], now: Date) -> AuthFailure? {
        switch auth {
        case .none:
            return nil
        case .basic(let username, let password):
            let challenge = "Basic realm=\"audience-relay\""
            guard let value = header("authorization") else {
                return AuthFailure(reason: "missing Authorization header (basic auth required)", challenge: challenge)
            }
            guard let encoded = scheme("Basic", of: value),
                  let decoded = Data(base64Encoded: String(encoded)) else {
                return AuthFailure(reason: "Authorization header is not valid basic credentials", challenge: challenge)
            }
            let bytes = Array(decoded)
            guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else {
                return AuthFailure(reason: "Authorization header is not valid basic credentials", challenge: challenge)
            }
            let userOK = ConstantTime.equals(bytes[..<colon], username)
            let passOK = ConstantTime.equals(bytes[(colon + 1)...], password)
            return userOK && passOK ? nil : AuthFailure(reason: "invalid username or password", challenge: challenge)
        case .bearer(let token):
            let challenge = "Bearer realm=\"audience-relay\""
            guard let value = header("authorization") else {
                return AuthFailure(reason: "missing Authorization header (bearer token required)", challenge: challenge)
            }
            guard let given = scheme("Bearer", of: value) else {
                return AuthFailure(reason: "Authorization header must use the Bearer scheme", challenge: challenge)
            }
            return ConstantTime.equals(Array(given.utf8), token) ? nil : AuthFailure(reason: "invalid bearer token", challenge: challenge)
        case .standardWebhooks(let keys, let tolerance):
            let failure = StandardWebhooks.verify(
                id: header("webhook-id"), timestamp: header("webhook-timestamp"),
                signatures: header("webhook-signature"), body: body, keys: keys, tolerance: tolerance, now: now)
            switch failure {
            case nil: return nil
            case .missingHeader(let name)?: return AuthFailure(reason: "missing \(name) header (signed webhooks required)")
            case .badTimestamp?: return AuthFailure(reason: "webhook-timestamp must be integer seconds since the epoch")
            case .timestampOutsideTolerance?:
                return AuthFailure(reason: "webhook-timestamp is outside the allowed tolerance of \(tolerance.components.seconds) s")
            case .noMatchingSignature?: return AuthFailure(reason: "no webhook-signature matches the body")
            }
        }
    }

    /// The credentials after `Scheme ` (scheme matched case-insensitively), or nil.
    private static func scheme(_ name: String, of value: String) -> Substring? {
        let trimmed = value.drop { $0 == " " }
        guard trimmed.count > name.count, trimmed.prefix(name.count).lowercased() == name.lowercased(),
              trimmed.dropFirst(name.count).first == " " else { return nil }
        return trimmed.dropFirst(name.count + 1).drop { $0 == " " }
    }
}
