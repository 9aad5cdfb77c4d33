// Benchmark baseline only: answers as if stored without storing anything (`serve --commit-mode none`).
import RelayOutbox

struct UnstoredEventStore: EventStore {
    func append(_ event: NewEvent) async throws(StoreUnavailable) -> AppendResult {
        AppendResult(id: event.id, duplicate: false)
    }
}
