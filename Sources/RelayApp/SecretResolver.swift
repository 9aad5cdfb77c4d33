// Reads the secrets that `env:` and `file:` references point at.
import Foundation
import RelayCore

package struct SecretResolver: Sendable {
    package struct Failure: Error { package var message: String }

    let environment: [String: String]

    package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The secret's bytes, trailing newline trimmed (files written by `echo` end in one).
    package func read(_ reference: SecretReference) throws(Failure) -> [UInt8] {
        let text: String
        switch reference.location {
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else {
                throw Failure(message: "environment variable \(name) is not set (referenced as env:\(name))")
            }
            text = value
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path), let value = String(data: data, encoding: .utf8) else {
                throw Failure(message: "cannot read secret file \(path)")
            }
            text = value
        }
        let trimmed = text.trimmingCharacters(in: .newlines)
        if trimmed.isEmpty { throw Failure(message: "secret \(reference) is empty") }
        return Array(trimmed.utf8)
    }

    package func resolve(_ auth: AuthConfig) throws(Failure) -> ResolvedAuth {
        switch auth {
        case .none: return .none
        case .basic(let username, let password): return .basic(username: Array(username.utf8), password: try read(password))
        case .bearer(let token): return .bearer(token: try read(token))
        case .standardWebhooks(let secrets, let tolerance):
            var keys: [[UInt8]] = []
            for secret in secrets { keys.append(try webhookKey(secret)) }
            return .standardWebhooks(keys: keys, tolerance: tolerance)
        }
    }

    /// A Standard Webhooks HMAC key (inbound verification or outbound signing) from its secret.
    package func webhookKey(_ reference: SecretReference) throws(Failure) -> [UInt8] {
        StandardWebhooks.key(fromSecret: String(decoding: try read(reference), as: UTF8.self))
    }
}
