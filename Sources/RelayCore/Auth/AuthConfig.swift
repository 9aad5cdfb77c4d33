// Per-source inbound authentication settings as configured (secrets still referenced, not read).

package enum AuthConfig: Sendable, Hashable {
    case none
    case basic(username: String, password: SecretReference)
    case bearer(token: SecretReference)
    /// Standard Webhooks HMAC-SHA256; several secrets allow key rotation.
    case standardWebhooks(secrets: [SecretReference], tolerance: Duration)

    package static let defaultTimestampTolerance: Duration = .seconds(300)

    package var modeName: String {
        switch self {
        case .none: return "none"
        case .basic: return "basic"
        case .bearer: return "bearer"
        case .standardWebhooks: return "standard-webhooks"
        }
    }

    package var secretReferences: [SecretReference] {
        switch self {
        case .none: return []
        case .basic(_, let password): return [password]
        case .bearer(let token): return [token]
        case .standardWebhooks(let secrets, _): return secrets
        }
    }
}

/// Auth settings with their secrets read: what the listener checks requests against.
package enum ResolvedAuth: Sendable {
    case none
    case basic(username: [UInt8], password: [UInt8])
    case bearer(token: [UInt8])
    case standardWebhooks(keys: [[UInt8]], tolerance: Duration)
}
