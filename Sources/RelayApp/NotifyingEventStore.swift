// Wraps the outbox so the dispatcher hears about new deliveries the moment they are committed.
import RelayDelivery
import RelayOutbox

struct NotifyingEventStore: EventStore {
    let base: any EventStore
    let dispatcher: Dispatcher

    func append(_ event: NewEvent) async throws(StoreUnavailable) -> AppendResult {
        let result = try await base.append(event)
        if !result.duplicate { dispatcher.wake(event.deliveries.map(\.destination)) }
        return result
    }
}
