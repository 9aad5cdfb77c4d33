// ExportCredentialProvider: the Authorization header a source presents to its export host —
// static bearer, basic, or an OAuth2 client-credentials token cached until shortly before expiry.

import Foundation
import Logging
import RelayCore
import RelayCurl

/// Gives the `Authorization` value for one source's export requests (SPEC §3). Secrets are read
/// through the injected closure on every call, so rotated files take effect without a reload.
/// For OAuth2 the token is fetched once and shared by all callers (one request in flight however
/// many callers wait), and kept until `expires_in` minus a margin (10 %, at most 60 s);
/// ``invalidate(_:)`` drops it after the export host answered 401.
package final class ExportCredentialProvider: Sendable {
    /// Reads a secret (`env:` or `file:` reference); throws when it cannot.
    package typealias SecretReader = @Sendable (SecretReference) throws -> String

    private let source: String
    private let credentials: ExportCredentials
    private let secrets: SecretReader
    private let tokens: OAuth2TokenSource?

    /// - Parameters:
    ///   - policy: the source's policy; an OAuth2 token URL must be https unless its host is
    ///     in `allowPlainHTTP` (it is operator-configured, so the host allow-list does not apply).
    ///   - client: carries the token requests.
    ///   - now: the clock token lifetimes are measured on.
    ///   - wallClock: the time `Retry-After` dates are measured from.
    package init(
        source: String,
        credentials: ExportCredentials,
        policy: ExportURLPolicy,
        client: CurlClient,
        secrets: @escaping SecretReader,
        requestTimeout: Duration = .seconds(30),
        logger: Logger,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        wallClock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.source = source
        self.credentials = credentials
        self.secrets = secrets
        if case .oauth2(let settings) = credentials {
            tokens = OAuth2TokenSource(
                source: source, settings: settings, policy: policy, client: client, secrets: secrets,
                requestTimeout: requestTimeout, logger: logger, now: now, wallClock: wallClock
            )
        } else {
            tokens = nil
        }
    }

    /// Whether ``invalidate(_:)`` can lead to a different header (OAuth2 only): a 401 is then
    /// worth one more try.
    package var canRefresh: Bool { tokens != nil }

    /// The `Authorization` header value, nil for `none`. While a token request is in flight
    /// other callers wait for its answer (a cancelled waiter too, until that request ends: it
    /// is bounded by `requestTimeout`).
    package func authorization() async throws(ExportFetchFailure) -> String? {
        switch credentials {
        case .none:
            return nil
        case .bearer(let token):
            return "Bearer \(try read(token, what: "bearer token"))"
        case .basic(let username, let password):
            let secret = try read(password, what: "basic-auth password")
            return "Basic \(Data("\(username):\(secret)".utf8).base64EncodedString())"
        case .oauth2:
            guard let tokens else { return nil }
            return try await tokens.header()
        }
    }

    /// Forgets `authorization` when it is still the cached OAuth2 token (a newer one stays), so
    /// that the next ``authorization()`` fetches a fresh token. Nothing happens for static credentials.
    package func invalidate(_ authorization: String) async {
        await tokens?.invalidate(authorization)
    }

    private func read(_ reference: SecretReference, what: String) throws(ExportFetchFailure) -> String {
        try readSecret(reference, what: what, source: source, secrets: secrets)
    }
}

/// A secret through `secrets`, trailing whitespace trimmed; failures are retried (a secret file
/// may appear later, as when a mounted secret is rotated).
func readSecret(
    _ reference: SecretReference, what: String, source: String, secrets: ExportCredentialProvider.SecretReader
) throws(ExportFetchFailure) -> String {
    let value: String
    do {
        value = try secrets(reference)
    } catch {
        throw .retry(after: nil, reason: "source \(source): cannot read the export \(what) (\(reference)): \(error)")
    }
    let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty else {
        throw .retry(after: nil, reason: "source \(source): the export \(what) (\(reference)) is empty")
    }
    return trimmed
}
