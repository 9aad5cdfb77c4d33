// The contract between the dispatcher and a destination: deliver a batch, answer one outcome per item.

/// A class: the dispatcher tells sinks apart by identity when the routing table changes.
package protocol Sink: AnyObject, Sendable {
    /// Delivers `batch` (all for this sink's destination) and returns outcomes in the same order.
    /// Returns only once each outcome is known (e.g. the Kafka delivery report arrived).
    func deliver(_ batch: [DeliveryItem]) async -> [DeliveryOutcome]
    /// Largest batch the dispatcher should hand over at once.
    var maxBatchSize: Int { get }
    /// How many batches may be in flight at once (per-key order is kept by the dispatcher either way).
    var maxConcurrentBatches: Int { get }
    /// True when the sink hands items to the destination in the order `deliver` calls begin (each call
    /// hands its batch over before it first suspends) and, per key, keeps that order through its own
    /// retries, a failed item failing the later ones of its key too (Kafka's idempotent producer, per
    /// partition). The dispatcher then starts batches in order and lets a key's run travel in one batch
    /// and its new deliveries follow in later batches while the earlier ones are still in flight.
    var keepsSubmissionOrder: Bool { get }
    /// Forwards records of a fetched export; one outcome per record, in order. The default sends
    /// each record as one message through ``deliver(_:)`` (what Kafka wants); HTTP overrides it
    /// with NDJSON requests of several records.
    func forward(_ batch: ExportRecordBatch) async -> [DeliveryOutcome]
    /// Tells the destination an export was dead-lettered (`export.failed`, `body` its JSON). The
    /// default delivers it as a framing event like `export.started` (what Kafka wants); HTTP
    /// overrides it with a final NDJSON line of kind `failed`.
    func deliverExportFailure(_ export: ExportIdentity, body: [UInt8], destination: String) async -> DeliveryOutcome
    /// Flushes and releases resources; called once on shutdown.
    func shutdown() async
    /// nil while the sink can reach its destination as far as it knows; otherwise why not (`/readyz`).
    var health: String? { get }
}

extension Sink {
    package var keepsSubmissionOrder: Bool { false }

    package var health: String? { nil }

    package func deliverExportFailure(_ export: ExportIdentity, body: [UInt8], destination: String) async -> DeliveryOutcome {
        let item = export.framingItem(kind: "failed", body: body, destination: destination)
        return await deliver([item]).first ?? .retry(after: nil, reason: "the sink returned no outcome")
    }

    package func forward(_ batch: ExportRecordBatch) async -> [DeliveryOutcome] {
        guard !batch.records.isEmpty else { return [] }
        var outcomes: [DeliveryOutcome] = []
        outcomes.reserveCapacity(batch.records.count)
        var start = 0
        while start < batch.records.count {
            let end = min(start + maxBatchSize, batch.records.count)
            let items = batch.records[start..<end].map { batch.export.item(for: $0, destination: "") }
            outcomes.append(contentsOf: await deliver(items))
            start = end
        }
        return outcomes
    }
}
