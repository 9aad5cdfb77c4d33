// kill -9 in the middle of a large export: after a restart every record arrives, repeats only after the checkpoint.
import Foundation
import RelayTestSupport
import Testing

@Suite(.serialized) struct ExportCrashTests {
    static let records = 200_000

    static func notification(apiURL: String, ref: String) -> Data {
        Data(#"{"apiUrl":"\#(apiURL)","audienceExportName":"big","clientKey":"c","definitionType":"FULL_SYNC","executionRef":"\#(ref)","executionType":"SCHEDULED","friendlyId":"big_export","segmentName":"s","status":"SUCCESS"}"#.utf8)
    }

    /// The `"record":N` indices of every NDJSON line the receiver got, in arrival order.
    static func recordIndices(_ requests: [UpstreamRequest]) -> [Int] {
        let marker = Array(#","record":"#.utf8)
        var indices: [Int] = []
        for request in requests {
            let body = request.body
            var i = 0
            while i + marker.count < body.count {
                if body[i] == marker[0], Array(body[i..<i + marker.count]) == marker {
                    var j = i + marker.count
                    var value = 0
                    while j < body.count, body[j] >= 48, body[j] <= 57 {
                        value = value * 10 + Int(body[j] - 48)
                        j += 1
                    }
                    indices.append(value)
                    // Skip to the end of the line: the record's own data may not contain the marker's twin.
                    while j < body.count, body[j] != 0x0A { j += 1 }
                    i = j
                } else {
                    i += 1
                }
            }
        }
        return indices
    }

    @Test func aKilledExportResumesFromItsCheckpoint() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("export-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let exportFile = work.appendingPathComponent("export.jsonl").path
        var lines = ""
        lines.reserveCapacity(Self.records * 80)
        for index in 0..<Self.records {
            lines += #"{"profileId":"p\#(index)","email":"user\#(index)@example.com","tier":"gold"}"# + "\n"
        }
        try lines.write(toFile: exportFile, atomically: false, encoding: .utf8)

        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/export.jsonl", UpstreamResponse(status: 200, headers: [(name: "Content-Type", value: "application/x-ndjson")],
                                                                    body: .file(path: exportFile)))
        try await upstream.script("/ingest", UpstreamResponse(status: 204))
        let config = work.appendingPathComponent("routes.yaml").path
        try """
            sources:
              sitecore:
                kind: sitecore-export
                path: /hooks/sitecore
                export: {allowHosts: [127.0.0.1], allowPlainHTTP: [127.0.0.1], allowPrivateAddresses: [127.0.0.1]}
            destinations:
              crm: {type: http, url: "\(upstream.url("/ingest"))", concurrency: 4}
            routes:
              - {name: exports, source: sitecore, to: crm, fetchExport: true, export: {batchRecords: 500}}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let dataDirectory = work.appendingPathComponent("data").path
        let outbox = OutboxFile(path: dataDirectory + "/outbox.sqlite")

        let relay = try await RelayProcess(config: config, dataDirectory: dataDirectory)
        let ref = UUID().uuidString.lowercased()
        let (status, _) = await relay.post("/hooks/sitecore", body: Self.notification(apiURL: upstream.url("/export.jsonl"), ref: ref))
        #expect(status == 200)
        // Kill once a good part (but not all) of the export has been forwarded.
        let killAt = Int.random(in: 40...120)  // NDJSON requests of 500 records
        let deadline = ContinuousClock.now + .seconds(60)
        while try await upstream.requests(path: "/ingest").count < killAt, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        relay.kill()
        let beforeKill = Self.recordIndices(try await upstream.requests(path: "/ingest"))
        let receivedBeforeKill = beforeKill.count
        let highestBeforeKill = beforeKill.max() ?? -1
        let checkpointRow = try await outbox.query("SELECT checkpoint_file, checkpoint_record, state FROM export_jobs").first ?? ""
        let checkpoint = Int(checkpointRow.split(separator: "|").dropFirst().first ?? "") ?? 0
        #expect(checkpointRow.hasSuffix("|0"), "the job is still pending after the kill: \(checkpointRow)")
        #expect(receivedBeforeKill < Self.records, "the export finished before the kill; nothing was tested")

        let restarted = try await RelayProcess(config: config, dataDirectory: dataDirectory)
        var state = ""
        let finishBy = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < finishBy {
            state = try await outbox.query("SELECT state, records_sent, last_error FROM export_jobs").first ?? ""
            if state.hasPrefix("2|") || state.hasPrefix("3|") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(restarted.terminate())
        #expect(state.hasPrefix("2|\(Self.records)|"), "job after restart: \(state)\n\(restarted.log(tail: 10))")

        let indices = Self.recordIndices(try await upstream.requests(path: "/ingest"))
        var seen = [Int](repeating: 0, count: Self.records)
        for index in indices where index < Self.records { seen[index] += 1 }
        let missing = seen.filter { $0 == 0 }.count
        let repeated = seen.indices.filter { seen[$0] > 1 }
        let repeatedBeforeCheckpoint = repeated.filter { $0 < checkpoint }
        print("""
            export crash test: \(Self.records) records exported, \(receivedBeforeKill) received before SIGKILL, \
            checkpoint at record \(checkpoint), \(indices.count) received in all, \(repeated.count) sent twice \
            (all at or after the checkpoint: \(repeatedBeforeCheckpoint.isEmpty)), \(missing) missing
            """)
        #expect(missing == 0)
        // The operator's view of the same job.
        let (exit, detail) = try RelayBinary.run(["export", "status", "--data-dir", dataDirectory, ref])
        #expect(exit == 0)
        #expect(detail.contains("state         done"), "\(detail)")
        #expect(detail.contains("records       \(Self.records) forwarded, 0 malformed, 0 dead"), "\(detail)")
        let (_, list) = try RelayBinary.run(["export", "status", "--data-dir", dataDirectory])
        #expect(list.contains(ref) && list.contains("done"), "\(list)")
        #expect(repeatedBeforeCheckpoint.isEmpty)
        // What is sent twice is what was in flight at the kill: after the checkpoint, up to what had arrived.
        #expect(repeated.allSatisfy { $0 >= checkpoint && $0 <= highestBeforeKill + 4_000 })
    }
}
