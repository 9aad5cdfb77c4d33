// Helpers of the fetch tests: a client, loopback-friendly settings, secrets, a manual clock,
// and ways to collect a failure or a whole body.

import Foundation
import Logging
import RelayCore
import RelayCurl
import RelayExport
import Synchronization

let fetchLogger = Logger(label: "relay-export-fetch-test")

func makeFetchClient() -> CurlClient {
    CurlClient(logger: fetchLogger)
}

/// Settings that let a source fetch from the loopback test server.
func loopbackSettings(
    credentials: ExportCredentials = .none,
    allowHosts: [String] = ["127.0.0.1"],
    allowPlainHTTP: [String]? = nil,
    allowPrivateAddresses: [String]? = nil,
    maxFileBytes: Int = ExportSourceSettings.defaultMaxFileBytes,
    maxRedirects: Int = 3
) -> ExportSourceSettings {
    ExportSourceSettings(
        credentials: credentials, allowHosts: allowHosts, allowPlainHTTP: allowPlainHTTP ?? allowHosts,
        allowPrivateAddresses: allowPrivateAddresses ?? allowHosts, maxFileBytes: maxFileBytes, maxRedirects: maxRedirects
    )
}

struct MissingSecret: Error, CustomStringConvertible {
    var name: String
    var description: String { "no secret \(name)" }
}

/// A secret reader over a fixed table of `env:` names.
func secretTable(_ values: [String: String]) -> ExportCredentialProvider.SecretReader {
    { reference in
        guard case .environment(let name) = reference.location, let value = values[name] else {
            throw MissingSecret(name: reference.description)
        }
        return value
    }
}

func env(_ name: String) -> SecretReference {
    SecretReference(location: .environment(name))
}

/// A monotonic clock the test moves by hand.
final class ManualClock: Sendable {
    private let start = ContinuousClock.now
    private let offset = Mutex<Duration>(.zero)

    func now() -> ContinuousClock.Instant {
        start + offset.withLock { $0 }
    }

    func advance(by duration: Duration) {
        offset.withLock { $0 += duration }
    }
}

/// The failure `operation` threw, or nil when it succeeded.
func fetchFailure(_ operation: () async throws(ExportFetchFailure) -> ExportResponse) async -> ExportFetchFailure? {
    do {
        _ = try await operation()
        return nil
    } catch {
        return error
    }
}

/// Every byte of `body`.
func readAll(_ body: ExportBody) async throws(ExportFetchFailure) -> [UInt8] {
    var bytes: [UInt8] = []
    for try await chunk in body {
        bytes += chunk
    }
    return bytes
}

extension ExportFetchFailure {
    var retryAfter: Duration?? {
        if case .retry(let after, _) = self { return .some(after) }
        return nil
    }

    var rejectedStatus: Int? {
        if case .rejected(let status, _) = self { return status }
        return nil
    }

    var isNotReady: Bool { if case .notReady = self { true } else { false } }
    var isGone: Bool { if case .gone = self { true } else { false } }
    var isFailedUpstream: Bool { if case .failedUpstream = self { true } else { false } }
    var isForbidden: Bool { if case .forbidden = self { true } else { false } }
    var isRetry: Bool { if case .retry = self { true } else { false } }
}
