// One attempt at an export job: open apiUrl, follow a manifest, stream every file record by record, frame it, checkpoint.
import CoreMetrics
import Foundation
import Logging
import RelayCore
import RelayCurl
import RelayOutbox
import RelayRecords

/// What a job needs resolved from the current routing table.
struct ExportJobSetup: Sendable {
    var settings: ExportSourceSettings
    var forwarding: ExportForwarding
    var destinations: [ExportDestination]
    var fetcher: ExportFetcher
}

/// Runs one job from its checkpoint to the end, or until it fails, is cancelled or a file is
/// not ready. Progress is saved as destinations confirm, so a crash re-sends at most what came
/// after the last checkpoint.
final class ExportJobRun {
    /// Records per step handed to the destinations, and about how many bytes.
    static let stepRecords = 2000
    static let stepBytes = 2 << 20
    /// Steps in flight at once.
    static let window = 4
    /// Checkpoints are written at least this far apart (and at every file's end).
    static let checkpointInterval: Duration = .milliseconds(100)

    private(set) var progress: ExportProgress
    private let job: ExportJob
    private let setup: ExportJobSetup
    private let queue: any ExportJobQueue
    private let metrics: ExportMetrics
    private let logger: Logger
    private let identity: ExportIdentity
    /// The key template's field paths, made once (rendering runs for every record).
    private let keyPaths: [FieldPath: JSONFieldPath]
    /// The path when the key template is a single `{{field}}`: read straight from the record.
    private let keyField: JSONFieldPath?
    private var lastSave = ContinuousClock.now
    private var malformedLogged = 0

    init(job: ExportJob, setup: ExportJobSetup, queue: any ExportJobQueue, metrics: ExportMetrics, logger: Logger) {
        self.job = job
        self.setup = setup
        self.queue = queue
        self.metrics = metrics
        self.progress = job.progress
        var logger = logger
        logger[metadataKey: "event"] = "\(job.eventID)"
        logger[metadataKey: "executionRef"] = "\(job.executionRef)"
        self.logger = logger
        var keyPaths: [FieldPath: JSONFieldPath] = [:]
        for path in setup.forwarding.key?.fields ?? [] { keyPaths[path] = JSONFieldPath(segments: path.segments) }
        self.keyPaths = keyPaths
        self.keyField = setup.forwarding.key?.singleField.map { JSONFieldPath(segments: $0.segments) }
        self.identity = job.identity
    }

    /// Forwards what is left of the export; returns when `export.completed` is confirmed.
    func run() async throws(ExportJobFailure) {
        let first = try await open(job.apiURL, context: "apiUrl")
        var firstStream = ExportFileStream(response: first, stallTimeout: setup.settings.stallTimeout)
        let probe = try await ManifestProbe.read(&firstStream, url: first.url.text)
        let files = probe.manifest?.files ?? [ExportManifest.File(url: job.apiURL)]
        if progress.fileCount != files.count {
            if progress.fileCount != nil, progress.fileIndex > 0 {
                throw .dead("the export's manifest changed from \(progress.fileCount ?? 0) to \(files.count) files while it was being forwarded")
            }
            progress.fileCount = files.count
        }
        let fresh = progress.fileIndex == 0 && progress.recordIndex == 0
        if fresh {
            try await RecordDelivery.deliverFraming(kind: "started", body: ExportFraming.started(job: job, files: files),
                                                    export: identity, to: setup.destinations)
            logger.info("export started", metadata: ["files": "\(files.count)", "apiUrl": "\(ExportURLs.redacted(job.apiURL))"])
        } else {
            logger.info("export resumed", metadata: [
                "file": "\(progress.fileIndex)", "record": "\(progress.recordIndex)", "files": "\(files.count)",
            ])
        }

        var window = InFlightWindow(window: Self.window)
        do {
            try await forwardFiles(files, from: first, firstStream: &firstStream, probe: probe, window: &window)
        } catch {
            await window.cancelAndWait()
            throw error
        }
        if Task.isCancelled { throw .retry("cancelled before export.completed") }
        try await RecordDelivery.deliverFraming(kind: "completed", body: ExportFraming.completed(job: job, progress: progress),
                                                export: identity, to: setup.destinations)
        logger.info("export completed", metadata: [
            "files": "\(files.count)", "records": "\(progress.recordsSent)", "malformed": "\(progress.recordsMalformed)",
            "dead": "\(progress.recordsDead)", "bytes": "\(progress.bytesReceived)",
        ])
    }

    /// Every file from the checkpoint on, then every step confirmed.
    private func forwardFiles(_ files: [ExportManifest.File], from first: ExportResponse, firstStream: inout ExportFileStream,
                              probe: ManifestProbe, window: inout InFlightWindow) async throws(ExportJobFailure) {
        for index in progress.fileIndex..<files.count {
            if index == 0, probe.manifest == nil {
                try await forwardFile(index: index, file: files[index], contentType: first.head.header("Content-Type"),
                                      stream: &firstStream, prefix: probe.prefix, window: &window)
            } else {
                let response = try await openManifestFile(files[index], index: index)
                var stream = ExportFileStream(response: response, stallTimeout: setup.settings.stallTimeout)
                try await forwardFile(index: index, file: files[index], contentType: response.head.header("Content-Type"),
                                      stream: &stream, prefix: [], window: &window)
            }
        }
        while let confirmation = try await window.next() {
            try await apply(confirmation)
        }
    }

    /// A manifest's file URL is often pre-signed and short-lived: a 401/403 for it ends the attempt
    /// for a retry, which fetches the manifest (and fresh URLs) again.
    private func openManifestFile(_ file: ExportManifest.File, index: Int) async throws(ExportJobFailure) -> ExportResponse {
        do {
            return try await setup.fetcher.open(url: file.url, context: "manifest file \(index)")
        } catch {
            if case .rejected(let status, let reason) = error, status == 401 || status == 403 {
                throw .retry("\(reason); fetching the manifest again for fresh file URLs")
            }
            throw ExportJobFailure(error)
        }
    }

    private func open(_ url: String, context: String) async throws(ExportJobFailure) -> ExportResponse {
        do {
            return try await setup.fetcher.open(url: url, context: context)
        } catch {
            throw ExportJobFailure(error)
        }
    }

    // MARK: - One file

    private func forwardFile(index: Int, file: ExportManifest.File, contentType: String?, stream: inout ExportFileStream,
                             prefix: [[UInt8]], window: inout InFlightWindow) async throws(ExportJobFailure) {
        let skip = index == progress.fileIndex ? progress.recordIndex : 0
        var pending = prefix[...]
        let format: RecordFormat
        if let configured = setup.forwarding.format {
            format = RecordFormat(configured)
        } else {
            // Enough of the start of the file (or all of it) for the detector to tell formats apart.
            var sniffed = pending.reduce(0) { $0 + $1.count }
            var more: [[UInt8]] = []
            while sniffed < FormatDetector.sniffLength, let piece = try await stream.next() {
                more.append(piece)
                sniffed += piece.count
            }
            pending = (Array(pending) + more)[...]
            let head = Array(pending.joined().prefix(FormatDetector.sniffLength))
            format = try detectFormat(contentType: contentType, url: file.url, firstBytes: head)
        }
        var firstPiece = pending.popFirst()
        if firstPiece == nil { firstPiece = try await stream.next() }
        let csv = setup.forwarding.csv
        let splitter = RecordSplitter(format: format, csv: CSVDialect(delimiter: csv.delimiter, columns: csv.header ? nil : csv.columns))
        var items: [SplitItem] = []
        var recordIndex: Int64 = 0
        var step: [ExportRecord] = []
        var stepBytes = 0
        step.reserveCapacity(Self.stepRecords)
        let fileLabel = "file \(index) (\(ExportURLs.redacted(file.url)))"

        var piece = firstPiece
        var atEnd = piece == nil
        while true {
            do {
                if let current = piece {
                    try splitter.feed(current, into: &items)
                } else {
                    try splitter.finish(into: &items)
                }
            } catch {
                throw .dead("\(fileLabel): \(error)")
            }
            for item in items {
                switch item {
                case .record(let raw):
                    defer { recordIndex += 1 }
                    guard recordIndex >= skip else { continue }
                    step.append(ExportRecord(key: key(for: raw), value: raw.value, fileIndex: index,
                                             recordIndex: recordIndex, change: file.change, profileID: raw.key))
                    stepBytes += raw.value.count
                    if step.count >= Self.stepRecords || stepBytes >= Self.stepBytes {
                        try await submit(step, fileIndex: index, window: &window)
                        step.removeAll(keepingCapacity: true)
                        stepBytes = 0
                    }
                case .malformed(let line, let reason):
                    guard recordIndex >= skip else { continue }
                    if setup.forwarding.onMalformed == .fail {
                        throw .dead("\(fileLabel) line \(line): \(reason) (the route's export.onMalformed is fail)")
                    }
                    progress.recordsMalformed += 1
                    metrics.malformed.increment()
                    if malformedLogged < 10 {
                        malformedLogged += 1
                        logger.warning("malformed export record skipped", metadata: [
                            "file": "\(index)", "url": "\(ExportURLs.redacted(file.url))", "line": "\(line)", "reason": "\(reason)",
                        ])
                    }
                }
            }
            items.removeAll(keepingCapacity: true)
            if atEnd { break }
            piece = pending.popFirst()
            if piece == nil { piece = try await stream.next() }
            atEnd = piece == nil
        }
        if !step.isEmpty { try await submit(step, fileIndex: index, window: &window) }
        // A cancelled download can end early: only an attempt that is still running closes the file.
        if Task.isCancelled { throw .retry("cancelled while forwarding \(fileLabel)") }
        let summary = ExportFileSummary(url: ExportURLs.redacted(file.url), change: file.change, records: recordIndex,
                                        bytes: stream.bytesReceived, sha256: stream.sha256Hex())
        metrics.bytes.increment(by: Int(stream.bytesReceived))
        if let confirmation = try await window.submit({ ExportConfirmation(fileIndex: index, finishedFile: summary) }) {
            try await apply(confirmation)
        }
    }

    private func submit(_ records: [ExportRecord], fileIndex: Int, window: inout InFlightWindow) async throws(ExportJobFailure) {
        let identity = self.identity
        let forwarding = setup.forwarding
        let destinations = setup.destinations
        let confirmation = try await window.submit { () async throws(ExportJobFailure) -> ExportConfirmation in
            let (dead, reason) = try await RecordDelivery.deliver(records, export: identity, forwarding: forwarding, to: destinations)
            return ExportConfirmation(fileIndex: fileIndex, records: records.count, lastRecordIndex: records.last?.recordIndex,
                                      dead: dead, deadReason: reason)
        }
        if let confirmation { try await apply(confirmation) }
    }

    private func key(for record: RawRecord) -> String? {
        guard let template = setup.forwarding.key else { return record.key }
        let value = record.value
        if let keyField {
            let key = JSONFields.scalarText(at: keyField, in: value)
            return key?.isEmpty == true ? nil : key
        }
        let rendered = template.render { path in keyPaths[path].flatMap { JSONFields.scalarText(at: $0, in: value) } }
        return rendered.isEmpty ? nil : rendered
    }

    private func detectFormat(contentType: String?, url: String, firstBytes: [UInt8]) throws(ExportJobFailure) -> RecordFormat {
        let detected = FormatDetector.detect(contentType: contentType, fileName: ExportURLs.fileName(url), firstBytes: firstBytes)
        // An empty file (nothing but whitespace) is an empty export whatever its format: no records.
        if detected == nil, firstBytes.count < FormatDetector.sniffLength, firstBytes.allSatisfy(ASCII.isJSONSpace) {
            return .jsonLines
        }
        guard let detected else {
            throw .dead("cannot tell the format of \(ExportURLs.redacted(url)) (Content-Type \(contentType ?? "none")); set export.format on the route")
        }
        return detected
    }

    // MARK: - Checkpoints

    /// Moves the progress by one confirmed step; checkpoints at a file's end and at most every ``checkpointInterval``.
    private func apply(_ confirmation: ExportConfirmation) async throws(ExportJobFailure) {
        if let last = confirmation.lastRecordIndex {
            progress.recordIndex = last + 1
            progress.recordsSent += Int64(confirmation.records)
            metrics.records.increment(by: confirmation.records)
        }
        if confirmation.dead > 0 {
            progress.recordsDead += Int64(confirmation.dead)
            metrics.dead.increment(by: confirmation.dead)
            logger.error("export records dead-lettered by a destination", metadata: [
                "records": "\(confirmation.dead)", "reason": "\(confirmation.deadReason ?? "")",
            ])
        }
        if let summary = confirmation.finishedFile {
            progress.files.append(summary)
            progress.bytesReceived += summary.bytes
            progress.fileIndex = confirmation.fileIndex + 1
            progress.recordIndex = 0
        }
        guard confirmation.finishedFile != nil || ContinuousClock.now - lastSave >= Self.checkpointInterval else { return }
        try await saveCheckpoint()
    }

    /// Writes the checkpoint now (also called when the job stops early, so confirmed work is kept).
    func saveCheckpoint() async throws(ExportJobFailure) {
        do {
            try await queue.saveExportProgress(eventID: job.eventID, progress: progress, at: Date())
            lastSave = .now
        } catch {
            throw .retry("cannot checkpoint the export in the outbox: \(error)")
        }
    }
}

extension ExportJob {
    /// The notification this job's records and framing events belong to.
    var identity: ExportIdentity {
        ExportIdentity(eventID: eventID, source: source, executionRef: executionRef, notificationType: eventType, receivedAt: receivedAt)
    }
}

extension RecordFormat {
    init(_ format: ExportFormat) {
        switch format {
        case .jsonLines: self = .jsonLines
        case .csv: self = .csv
        case .jsonArray: self = .jsonArray
        case .jsonObject: self = .jsonObjectByKey
        }
    }
}

extension ExportManifest.File {
    init(url: String) {
        self.init(url: url, size: nil, expiresAt: nil, change: nil)
    }
}
