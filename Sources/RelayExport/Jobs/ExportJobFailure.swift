// Why an export job attempt stopped, sorted by what the runner does next.

/// The end of one attempt at a job that did not finish it.
struct ExportJobFailure: Error, Sendable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        /// The export URL answered 404: poll again with back-off until the deadline.
        case notReady
        /// Worth another attempt from the checkpoint (network, 429/5xx, a destination that keeps failing).
        case retry(after: Duration?)
        /// Will never work: the job is dead-lettered with the reason.
        case dead
    }

    var kind: Kind
    var reason: String
    /// The HTTP status the export host (or its token endpoint) answered, when one caused this.
    var upstreamStatus: Int?

    init(kind: Kind, reason: String, upstreamStatus: Int? = nil) {
        self.kind = kind
        self.reason = reason
        self.upstreamStatus = upstreamStatus
    }

    static func dead(_ reason: String) -> ExportJobFailure { ExportJobFailure(kind: .dead, reason: reason) }
    static func retry(_ reason: String, after: Duration? = nil) -> ExportJobFailure {
        ExportJobFailure(kind: .retry(after: after), reason: reason)
    }

    var description: String { reason }
}

extension ExportJobFailure {
    /// What a failed fetch means for the job (SPEC §3 poll semantics).
    init(_ failure: ExportFetchFailure) {
        switch failure {
        case .notReady(let reason): self.init(kind: .notReady, reason: reason, upstreamStatus: 404)
        case .retry(let after, let reason): self.init(kind: .retry(after: after), reason: reason)
        case .cancelled(let reason): self.init(kind: .retry(after: nil), reason: reason)
        case .gone(let reason): self.init(kind: .dead, reason: "gone (410): \(reason)", upstreamStatus: 410)
        case .failedUpstream(let reason):
            self.init(kind: .dead, reason: "the export failed upstream (503): \(reason)", upstreamStatus: 503)
        case .rejected(let status, let reason):
            self.init(kind: .dead, reason: "refused by the export host (\(status)): \(reason)", upstreamStatus: status)
        case .forbidden(let reason): self.init(kind: .dead, reason: "forbidden: \(reason)")
        }
    }
}
