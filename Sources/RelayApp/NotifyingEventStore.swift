// Wraps the outbox so the dispatcher and the export runner hear about new work the moment it is committed.
import RelayDelivery
import RelayExport
import RelayOutbox

struct NotifyingEventStore: EventStore {
    let base: any EventStore
    let dispatcher: Dispatcher
    let exports: ExportRunner?

    func append(_ event: NewEvent) async throws(StoreUnavailable) -> AppendResult {
        let result = try await base.append(event)
        if !result.duplicate {
            dispatcher.wake(event.deliveries.map(\.destination))
            if event.export != nil { exports?.wake() }
        }
        return result
    }
}
