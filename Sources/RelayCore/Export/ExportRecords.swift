// Records of a fetched export on their way to a destination, and the events that frame an export.
import Foundation

/// One record of an export file.
package struct ExportRecord: Sendable {
    /// Kafka message key (rendered from the route's template, or the profile id of a `json-object` file).
    package var key: String?
    /// The record as JSON (verbatim from JSON Lines / arrays / objects; built from a CSV row).
    package var value: [UInt8]
    /// Index of the file in the export (0 without a manifest).
    package var fileIndex: Int
    /// Index of the record within its file, from 0: with `executionRef` it names the record, so
    /// a consumer recognises one re-sent after a crash.
    package var recordIndex: Int64
    /// `added` or `removed` for the parts of a delta export.
    package var change: String?
    /// The member name a `json-object` (keyed) export stored the record under. It travels as the
    /// Kafka header `profileId` and the NDJSON field `profileId`, so it is kept when the route's
    /// `export.key` template makes a different message key.
    package var profileID: String?

    package init(key: String?, value: [UInt8], fileIndex: Int, recordIndex: Int64, change: String?, profileID: String? = nil) {
        self.key = key
        self.value = value
        self.fileIndex = fileIndex
        self.recordIndex = recordIndex
        self.change = change
        self.profileID = profileID
    }
}

/// Records of one export for one destination, with what every message about them repeats.
package struct ExportRecordBatch: Sendable {
    package var export: ExportIdentity
    package var records: [ExportRecord]
    /// HTTP destinations receive NDJSON requests of at most this many records and about this many bytes.
    package var maxRecordsPerRequest: Int
    package var maxBytesPerRequest: Int

    package init(export: ExportIdentity, records: [ExportRecord], maxRecordsPerRequest: Int, maxBytesPerRequest: Int) {
        self.export = export
        self.records = records
        self.maxRecordsPerRequest = maxRecordsPerRequest
        self.maxBytesPerRequest = maxBytesPerRequest
    }
}

/// The notification an export belongs to.
package struct ExportIdentity: Sendable {
    /// The notification's event id.
    package var eventID: EventID
    package var source: String
    package var executionRef: ExecutionRef
    /// The notification's CloudEvents type; records and framing events get sibling types.
    package var notificationType: String
    package var receivedAt: Date

    package init(eventID: EventID, source: String, executionRef: ExecutionRef, notificationType: String, receivedAt: Date) {
        self.eventID = eventID
        self.source = source
        self.executionRef = executionRef
        self.notificationType = notificationType
        self.receivedAt = receivedAt
    }

    /// `com.sitecore.cdp.audience-export.notification` → `com.sitecore.cdp.audience-export.<kind>`.
    package func type(_ kind: String) -> String {
        guard let dot = notificationType.lastIndex(of: ".") else { return "\(notificationType).\(kind)" }
        return String(notificationType[..<dot]) + "." + kind
    }

    /// The message for one record (Kafka: one message per record). The event id
    /// `<notification id>/<file>/<record>` is stable across re-sends.
    package func item(for record: ExportRecord, destination: String) -> DeliveryItem {
        var headers = [
            PlannedDelivery.Header(name: "executionRef", value: executionRef.rawValue),
            PlannedDelivery.Header(name: "fileIndex", value: String(record.fileIndex)),
            PlannedDelivery.Header(name: "recordIndex", value: String(record.recordIndex)),
        ]
        if let change = record.change { headers.append(PlannedDelivery.Header(name: "change", value: change)) }
        if let profileID = record.profileID { headers.append(PlannedDelivery.Header(name: "profileId", value: profileID)) }
        return DeliveryItem(
            deliveryID: 0, destination: destination, eventID: eventID.derived("\(record.fileIndex)/\(record.recordIndex)"),
            source: source, eventType: type("record"), subject: executionRef.rawValue, receivedAt: receivedAt,
            key: record.key, headers: headers, body: record.value, attempt: 1)
    }

    /// One NDJSON request body for HTTP destinations: a line per record, each an envelope
    /// `{"executionRef","file","record","change"?,"key"?,"profileId"?,"data"}`.
    package func ndjsonItem(for records: ArraySlice<ExportRecord>, destination: String) -> DeliveryItem {
        var body: [UInt8] = []
        body.reserveCapacity(records.reduce(0) { $0 + $1.value.count + 96 })
        for record in records {
            body.append(contentsOf: #"{"executionRef":"#.utf8)
            JSONString.appendQuoted(executionRef.rawValue, to: &body)
            body.append(contentsOf: #","file":\#(record.fileIndex),"record":\#(record.recordIndex)"#.utf8)
            if let change = record.change {
                body.append(contentsOf: #","change":"#.utf8)
                JSONString.appendQuoted(change, to: &body)
            }
            if let key = record.key {
                body.append(contentsOf: #","key":"#.utf8)
                JSONString.appendQuoted(key, to: &body)
            }
            if let profileID = record.profileID {
                body.append(contentsOf: #","profileId":"#.utf8)
                JSONString.appendQuoted(profileID, to: &body)
            }
            body.append(contentsOf: #","data":"#.utf8)
            body.append(contentsOf: record.value)
            body.append(contentsOf: "}\n".utf8)
        }
        let first = records.first.map { "\($0.fileIndex)/\($0.recordIndex)" } ?? "0/0"
        let last = records.last.map { "\($0.recordIndex)" } ?? "0"
        return DeliveryItem(
            deliveryID: 0, destination: destination, eventID: eventID.derived("\(first)-\(last)"), source: source,
            eventType: type("records"), subject: executionRef.rawValue, receivedAt: receivedAt, key: nil,
            headers: [PlannedDelivery.Header(name: "executionRef", value: executionRef.rawValue)],
            body: body, attempt: 1, contentType: "application/x-ndjson")
    }

    /// `export.failed` for HTTP destinations: an NDJSON request whose one line is
    /// `{"kind":"failed","executionRef","data":<the export.failed body>}`, the line that ends the
    /// export's record lines; id `<notification id>/failed` like the Kafka event.
    package func failedNDJSONItem(body: [UInt8], destination: String) -> DeliveryItem {
        var line: [UInt8] = Array(#"{"kind":"failed","executionRef":"#.utf8)
        JSONString.appendQuoted(executionRef.rawValue, to: &line)
        line.append(contentsOf: #","data":"#.utf8)
        line.append(contentsOf: body)
        line.append(contentsOf: "}\n".utf8)
        return DeliveryItem(
            deliveryID: 0, destination: destination, eventID: eventID.derived("failed"), source: source,
            eventType: type("failed"), subject: executionRef.rawValue, receivedAt: receivedAt, key: executionRef.rawValue,
            headers: [PlannedDelivery.Header(name: "executionRef", value: executionRef.rawValue)],
            body: line, attempt: 1, contentType: "application/x-ndjson")
    }

    /// `export.started` / `export.completed` / `export.failed`: a JSON event about the whole export, id `<notification id>/<kind>`.
    package func framingItem(kind: String, body: [UInt8], destination: String) -> DeliveryItem {
        DeliveryItem(
            deliveryID: 0, destination: destination, eventID: eventID.derived(kind), source: source,
            eventType: type(kind), subject: executionRef.rawValue, receivedAt: receivedAt, key: executionRef.rawValue,
            headers: [PlannedDelivery.Header(name: "executionRef", value: executionRef.rawValue)], body: body, attempt: 1)
    }
}
