// What a batch's outcomes amount to, for the one log line a sink writes about a batch that did not all go through.
import RelayCore

struct OutcomeSummary {
    var retries = 0
    var dead = 0
    /// The first failure's reason (nil when everything was delivered).
    var firstReason: String?

    init(_ outcomes: [DeliveryOutcome]) {
        for outcome in outcomes {
            switch outcome {
            case .delivered:
                continue
            case .retry(_, let reason), .notSent(_, let reason):
                retries += 1
                if firstReason == nil { firstReason = reason }
            case .dead(let reason):
                dead += 1
                if firstReason == nil { firstReason = reason }
            }
        }
    }
}
