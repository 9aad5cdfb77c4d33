// Export jobs end to end against a scripted loopback upstream: poll semantics, gzip, manifests, formats, policy.
import Crypto
import Foundation
import RelayCore
import RelayDelivery
import RelayExport
import RelayGzip
import RelayOutbox
import RelayTestSupport
import Testing

@Suite(.serialized) struct ExportJobTests {
    static func jsonLines(_ count: Int, from start: Int = 0) -> [UInt8] {
        Array((start..<start + count).map { #"{"profileId":"p\#($0)","email":"u\#($0)@example.com"}"# + "\n" }.joined().utf8)
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func ndjson(_ body: [UInt8], type: String = "application/x-ndjson") -> UpstreamResponse {
        UpstreamResponse(status: 200, headers: [(name: "Content-Type", value: type)], body: .bytes(body))
    }

    static func completedBody(_ sink: RecordingSink) throws -> [String: Any] {
        let completed = try #require(sink.framing.first { $0.eventType.hasSuffix(".completed") })
        return try #require(JSONSerialization.jsonObject(with: Data(completed.body)) as? [String: Any])
    }

    @Test func notReadyIsPolledUntilTheExportIsThere() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        let body = Self.jsonLines(5)
        try await upstream.script("/export", [UpstreamResponse.text(404, "not yet").times(3), Self.ndjson(body)])
        let harness = try ExportHarness(routeExport: #"{key: "{{profileId}}"}"#)
        try await harness.running {
            let id = try await harness.accept(apiURL: upstream.url("/export"), executionRef: "6f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c")
            let job = try await harness.waitForJob(id)
            #expect(job.state == .done, "\(job.lastError ?? "")")
            #expect(job.attempts == 3)
            #expect(job.progress.recordsSent == 5)
        }
        #expect(try await upstream.requests(path: "/export").count == 4)
        let sink = harness.sink
        #expect(sink.records.map(\.body) == body.split(separator: UInt8(ascii: "\n")).map(Array.init))
        #expect(sink.records.map(\.key) == (0..<5).map { "p\($0)" })
        #expect(sink.records.map { sink.header("recordIndex", of: $0) } == (0..<5).map { "\($0)" })
        #expect(sink.records.allSatisfy { sink.header("executionRef", of: $0) == "6f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c" })
        #expect(sink.framing.map(\.eventType) == ["com.sitecore.cdp.audience-export.started", "com.sitecore.cdp.audience-export.completed"])
        let completed = try Self.completedBody(sink)
        #expect(completed["recordCount"] as? Int == 5)
        #expect(completed["fileCount"] as? Int == 1)
        #expect(completed["sha256"] as? String == Self.sha256(body))
    }

    static func failedBody(_ sink: RecordingSink) throws -> [String: Any] {
        let failed = try #require(sink.framing.first { $0.eventType.hasSuffix(".failed") })
        return try #require(JSONSerialization.jsonObject(with: Data(failed.body)) as? [String: Any])
    }

    /// A dead-lettered job tells its destinations: `export.failed` with the reason, the upstream status and the counts.
    @Test(arguments: [(410, "gone (410)"), (503, "failed upstream (503)"), (400, "refused by the export host (400)")])
    func terminalStatusesDeadLetterTheJob(status: Int, reason: String) async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/export", UpstreamResponse.text(status, "upstream says no"))
        let harness = try ExportHarness()
        let ref = UUID().uuidString.lowercased()
        var id = ""
        try await harness.running {
            id = try await harness.accept(apiURL: upstream.url("/export"), executionRef: ref)
            let job = try await harness.waitForJob(id)
            #expect(job.state == .dead)
            #expect(job.lastError?.contains(reason) == true, "\(job.lastError ?? "")")
        }
        let sink = harness.sink
        #expect(sink.records.isEmpty)
        #expect(sink.framing.map(\.eventType) == ["com.sitecore.cdp.audience-export.failed"])
        let failed = try #require(sink.framing.first)
        #expect(failed.eventID.rawValue == "\(id)/failed")
        #expect(failed.key == ref)
        let body = try Self.failedBody(sink)
        #expect(body["type"] as? String == "export.failed")
        #expect(body["executionRef"] as? String == ref)
        #expect(body["upstreamStatus"] as? Int == status)
        #expect((body["reason"] as? String)?.contains(reason) == true, "\(body)")
        #expect(body["recordCount"] as? Int == 0)
        #expect(try await upstream.requests(path: "/export").count == 1)
    }

    /// An export that never becomes ready fails at the poll deadline, and says so.
    @Test func thePollDeadlineEndsTheJobWithExportFailed() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/export", UpstreamResponse.text(404, "not yet"))
        let harness = try ExportHarness(sourceExport: """
            {allowHosts: [127.0.0.1], allowPlainHTTP: [127.0.0.1], allowPrivateAddresses: [127.0.0.1],
             pollInitialDelay: 10ms, pollMaxDelay: 50ms, pollDeadline: 300ms}
            """)
        try await harness.running {
            let job = try await harness.waitForJob(try await harness.accept(apiURL: upstream.url("/export")))
            #expect(job.state == .dead, "\(job.lastError ?? "")")
        }
        let body = try Self.failedBody(harness.sink)
        #expect(body["upstreamStatus"] as? Int == 404)
        #expect((body["reason"] as? String)?.contains("max age") == true, "\(body)")
    }

    /// A destination refusing `export.completed` for good dead-letters the job after its records went
    /// out: export.failed carries the counts so far. When export.failed cannot be delivered either,
    /// the job is dead all the same.
    @Test func aDestinationRefusingForGoodFailsTheJobAndExportFailedIsBestEffort() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/export", Self.ndjson(Self.jsonLines(3)))
        let harness = try ExportHarness()
        harness.sink.setBehavior { item in item.eventType.hasSuffix(".completed") ? .dead(reason: "no such topic") : .delivered }
        try await harness.running {
            let job = try await harness.waitForJob(try await harness.accept(apiURL: upstream.url("/export")))
            #expect(job.state == .dead)
            #expect(job.lastError?.contains("export.completed was refused") == true, "\(job.lastError ?? "")")
        }
        #expect(harness.sink.framing.map(\.eventType) == ["com.sitecore.cdp.audience-export.started", "com.sitecore.cdp.audience-export.failed"])
        let body = try Self.failedBody(harness.sink)
        #expect(body["recordCount"] as? Int == 3)
        #expect(body["fileCount"] as? Int == 1)
        #expect(body["upstreamStatus"] == nil)

        try await upstream.script("/gone", UpstreamResponse.text(410, "gone"))
        let unreachable = try ExportHarness()
        unreachable.sink.setBehavior { _ in .retry(after: nil, reason: "broker down") }
        try await unreachable.running {
            let job = try await unreachable.waitForJob(try await unreachable.accept(apiURL: upstream.url("/gone")))
            #expect(job.state == .dead)
        }
        #expect(unreachable.sink.delivered.isEmpty)
    }

    /// A job whose source lost its export section is dead-lettered, and its destinations still hear it.
    @Test func aJobWhoseSourceWasRemovedStillAnnouncesItsFailure() async throws {
        let harness = try ExportHarness()
        let id = UUID().uuidString.lowercased()
        let ref = UUID().uuidString.lowercased()
        _ = try await harness.outbox.append(NewEvent(
            id: EventID(stored: id), source: "removed", type: "com.sitecore.cdp.audience-export.notification", subject: nil, dedupeKey: ref,
            receivedAt: Date(), body: Array("{}".utf8), deliveries: [],
            export: PlannedExport(route: "exports", destinations: ["records"], executionRef: ExecutionRef(stored: ref), apiURL: "https://x.example/e")))
        try await harness.running {
            harness.runner.wake()
            let job = try await harness.waitForJob(id)
            #expect(job.state == .dead)
        }
        #expect(harness.sink.framing.map(\.eventID.rawValue) == ["\(id)/failed"])
        #expect((try Self.failedBody(harness.sink)["reason"] as? String)?.contains("source 'removed'") == true)
    }

    @Test func tooManyRequestsHonoursRetryAfter() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/export", [UpstreamResponse.text(429, "slow down", headers: [(name: "Retry-After", value: "1")]),
                                              Self.ndjson(Self.jsonLines(3))])
        let harness = try ExportHarness()
        try await harness.running {
            let job = try await harness.waitForJob(try await harness.accept(apiURL: upstream.url("/export")))
            #expect(job.state == .done, "\(job.lastError ?? "")")
        }
        let requests = try await upstream.requests(path: "/export")
        #expect(requests.count == 2)
        #expect(harness.sink.records.count == 3)
    }

    @Test(arguments: [true, false])
    func gzipIsDecodedByHeaderOrByMagicBytes(announced: Bool) async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        let plain = Self.jsonLines(1000)
        let gzipped = GzipEncoder.compress(plain)
        let headers: [(name: String, value: String)] = announced
            ? [(name: "Content-Type", value: "application/x-ndjson"), (name: "Content-Encoding", value: "gzip")]
            : [(name: "Content-Type", value: "application/octet-stream")]
        try await upstream.script("/export.jsonl.gz", UpstreamResponse(status: 200, headers: headers, body: .bytes(gzipped)))
        let harness = try ExportHarness()
        try await harness.running {
            let job = try await harness.waitForJob(try await harness.accept(apiURL: upstream.url("/export.jsonl.gz")))
            #expect(job.state == .done, "\(job.lastError ?? "")")
            #expect(job.progress.bytesReceived == Int64(gzipped.count))
        }
        #expect(try await upstream.requests(path: "/export.jsonl.gz").first?.header("Accept-Encoding")?.contains("gzip") == true)
        #expect(harness.sink.records.count == 1000)
        #expect(harness.sink.records.last?.body == Array(#"{"profileId":"p999","email":"u999@example.com"}"#.utf8))
        #expect(try Self.completedBody(harness.sink)["sha256"] as? String == Self.sha256(gzipped))
    }

    @Test func manifestFilesAreFetchedInTurnWithTheirDeltaFlags() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        let manifest = """
            {"files": [
              {"url": "\(upstream.url("/files/full.jsonl"))", "size": 100},
              {"url": "/files/added.csv", "change": "added"},
              {"url": "files/removed.json", "removed": true, "expiresAt": "2026-11-24T00:00:00Z"}
            ]}
            """
        try await upstream.script("/manifest", .json(200, manifest))
        try await upstream.script("/files/full.jsonl", Self.ndjson(Self.jsonLines(2)))
        try await upstream.script("/files/added.csv", Self.ndjson(Array("profileId,email\np10,\"a,b\"\np11,c\n".utf8), type: "text/csv"))
        try await upstream.script("/files/removed.json", .json(200, #"[{"profileId":"p20"},{"profileId":"p21"},{"profileId":"p22"}]"#))
        let harness = try ExportHarness(routeExport: #"{key: "{{profileId}}"}"#)
        try await harness.running {
            let job = try await harness.waitForJob(try await harness.accept(apiURL: upstream.url("/manifest")))
            #expect(job.state == .done, "\(job.lastError ?? "")")
            #expect(job.progress.fileCount == 3)
            #expect(job.progress.files.map(\.records) == [2, 2, 3])
            #expect(job.progress.files.map(\.change) == [nil, "added", "removed"])
        }
        let sink = harness.sink
        #expect(sink.records.map(\.key) == ["p0", "p1", "p10", "p11", "p20", "p21", "p22"])
        #expect(sink.records.map { sink.header("fileIndex", of: $0) } == ["0", "0", "1", "1", "2", "2", "2"])
        #expect(sink.records.map { sink.header("change", of: $0) } == [nil, nil, "added", "added", "removed", "removed", "removed"])
        #expect(sink.records[2].body == Array(#"{"profileId":"p10","email":"a,b"}"#.utf8))
        let completed = try Self.completedBody(sink)
        #expect(completed["recordCount"] as? Int == 7)
        #expect((completed["files"] as? [[String: Any]])?.count == 3)
    }

    @Test func everyFormatIsSplitIntoRecords() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/a.jsonl", Self.ndjson(Array("{\"id\":1}\n\n{\"id\":2}\r\n".utf8)))
        try await upstream.script("/b.csv", Self.ndjson(Array("id,note\r\n1,\"line one\nline two\"\r\n2,\"say \"\"hi\"\"\"\r\n".utf8), type: "text/csv"))
        try await upstream.script("/c", .json(200, " [ {\"id\":1} , {\"id\":2,\"x\":[1,{\"y\":\"]\"}]} ] "))
        try await upstream.script("/d", .json(200, #"{"p1": {"id":1}, "p2": {"id":2}}"#))
        let expected: [String: ([String], [String?])] = [
            "/a.jsonl": ([#"{"id":1}"#, #"{"id":2}"#], [nil, nil]),
            "/b.csv": ([#"{"id":"1","note":"line one\nline two"}"#, #"{"id":"2","note":"say \"hi\""}"#], [nil, nil]),
            "/c": ([#"{"id":1}"#, #"{"id":2,"x":[1,{"y":"]"}]}"#], [nil, nil]),
            "/d": ([#"{"id":1}"#, #"{"id":2}"#], ["p1", "p2"]),
        ]
        for (path, (bodies, keys)) in expected.sorted(by: { $0.key < $1.key }) {
            let harness = try ExportHarness()
            try await harness.running {
                let job = try await harness.waitForJob(try await harness.accept(apiURL: upstream.url(path)))
                #expect(job.state == .done, "\(path): \(job.lastError ?? "")")
            }
            #expect(harness.sink.records.map { String(decoding: $0.body, as: UTF8.self) } == bodies, "\(path)")
            #expect(harness.sink.records.map(\.key) == keys, "\(path)")
        }
    }

    /// A pipe-delimited file without a header row, as some exporters write it: the route names the columns.
    @Test func headerlessPipeDelimitedCSVUsesTheRouteColumns() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/export.csv", Self.ndjson(Array("p1|a@x.io|\"x|y\"\np2|b@x.io|\n".utf8), type: "text/csv"))
        let harness = try ExportHarness(routeExport: #"{key: "{{profileId}}", csv: {delimiter: "|", header: false, columns: [profileId, email, note]}}"#)
        try await harness.running {
            let job = try await harness.waitForJob(try await harness.accept(apiURL: upstream.url("/export.csv")))
            #expect(job.state == .done, "\(job.lastError ?? "")")
            #expect(job.progress.recordsSent == 2)
        }
        #expect(harness.sink.records.map { String(decoding: $0.body, as: UTF8.self) } == [
            #"{"profileId":"p1","email":"a@x.io","note":"x|y"}"#, #"{"profileId":"p2","email":"b@x.io","note":""}"#,
        ])
        #expect(harness.sink.records.map(\.key) == ["p1", "p2"])
    }

    /// A keyed export whose route renders its own key keeps the profile id as the `profileId` header.
    @Test func aKeyedExportKeepsItsProfileIdWhenTheKeyTemplateReplacesIt() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/keyed", .json(200, #"{"p-1": {"email":"a@x.io"}, "p-2": {"email":"b@x.io"}}"#))
        let harness = try ExportHarness(routeExport: #"{key: "{{email}}"}"#)
        try await harness.running {
            let job = try await harness.waitForJob(try await harness.accept(apiURL: upstream.url("/keyed")))
            #expect(job.state == .done, "\(job.lastError ?? "")")
        }
        let sink = harness.sink
        #expect(sink.records.map(\.key) == ["a@x.io", "b@x.io"])
        #expect(sink.records.map { sink.header("profileId", of: $0) } == ["p-1", "p-2"])
    }

    /// An empty keyed export `{}` and an empty file forward no record: the job completes with 0.
    @Test(arguments: [("/empty.json", "{}"), ("/blank", " \n"), ("/nothing", "")])
    func anEmptyExportCompletesWithNoRecords(path: String, body: String) async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script(path, UpstreamResponse(status: 200, headers: [(name: "Content-Type", value: "application/json")],
                                                         body: .bytes(Array(body.utf8))))
        let harness = try ExportHarness()
        try await harness.running {
            let job = try await harness.waitForJob(try await harness.accept(apiURL: upstream.url(path)))
            #expect(job.state == .done, "\(job.lastError ?? "")")
            #expect(job.progress.recordsSent == 0)
        }
        #expect(harness.sink.records.isEmpty)
        #expect(try Self.completedBody(harness.sink)["recordCount"] as? Int == 0)
    }

    @Test func malformedRecordsAreSkippedAndCountedOrFailTheJob() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/export", Self.ndjson(Array("{\"id\":1}\n{\"id\":\n[1,2]\n{\"id\":4}\n".utf8)))
        let skipping = try ExportHarness()
        try await skipping.running {
            let job = try await skipping.waitForJob(try await skipping.accept(apiURL: upstream.url("/export")))
            #expect(job.state == .done)
            #expect(job.progress.recordsMalformed == 2)
            #expect(job.progress.recordsSent == 2)
        }
        #expect(skipping.sink.records.map { String(decoding: $0.body, as: UTF8.self) } == [#"{"id":1}"#, #"{"id":4}"#])
        #expect(try Self.completedBody(skipping.sink)["recordsMalformed"] as? Int == 2)

        let failing = try ExportHarness(routeExport: "{onMalformed: fail}")
        try await failing.running {
            let job = try await failing.waitForJob(try await failing.accept(apiURL: upstream.url("/export")))
            #expect(job.state == .dead)
            #expect(job.lastError?.contains("line 2") == true, "\(job.lastError ?? "")")
        }
    }

    @Test func redirectsToForbiddenPlacesAndOversizedFilesAreRefused() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/elsewhere", UpstreamResponse(status: 302, headers: [(name: "Location", value: "http://169.254.169.254/latest/meta-data")]))
        try await upstream.script("/big", Self.ndjson(Self.jsonLines(200)))
        let harness = try ExportHarness(sourceExport: "{allowHosts: [127.0.0.1, 169.254.169.254], allowPlainHTTP: [127.0.0.1, 169.254.169.254], allowPrivateAddresses: [127.0.0.1], maxFileBytes: 1KiB}")
        try await harness.running {
            let redirected = try await harness.waitForJob(try await harness.accept(apiURL: upstream.url("/elsewhere")))
            #expect(redirected.state == .dead)
            #expect(redirected.lastError?.contains("169.254.169.254") == true, "\(redirected.lastError ?? "")")
            let big = try await harness.waitForJob(try await harness.accept(apiURL: upstream.url("/big")))
            #expect(big.state == .dead)
            #expect(big.lastError?.contains("maxFileBytes") == true, "\(big.lastError ?? "")")
        }
        #expect(harness.sink.records.isEmpty)
    }

    @Test func aHostThatStopsSendingMidFileIsRetriedFromTheCheckpoint() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        let body = Self.jsonLines(3000)
        var stalling = Self.ndjson(body)
        stalling.chunkBytes = 16 * 1024
        stalling.chunkDelay = .seconds(5)
        try await upstream.script("/export", [stalling, Self.ndjson(body)])
        let harness = try ExportHarness(sourceExport: """
            {allowHosts: [127.0.0.1], allowPlainHTTP: [127.0.0.1], allowPrivateAddresses: [127.0.0.1],
             pollInitialDelay: 10ms, pollMaxDelay: 50ms, stallTimeout: 1s}
            """)
        try await harness.running {
            let job = try await harness.waitForJob(try await harness.accept(apiURL: upstream.url("/export")))
            #expect(job.state == .done, "\(job.lastError ?? "")")
            #expect(job.attempts == 1)
            #expect(job.progress.recordsSent == 3000)
        }
        // The stalled transfer was given up after 1 s (not the 5 s the host would have taken) and fetched again.
        #expect(try await upstream.requests(path: "/export").count == 2)
        #expect(Set(harness.sink.records.map { harness.sink.header("recordIndex", of: $0) }).count == 3000)

        // A host that always stalls: the job stays pending with the reason.
        try await upstream.script("/always", stalling)
        let again = try ExportHarness(sourceExport: """
            {allowHosts: [127.0.0.1], allowPlainHTTP: [127.0.0.1], allowPrivateAddresses: [127.0.0.1],
             pollInitialDelay: 10s, pollMaxDelay: 10s, stallTimeout: 500ms}
            """)
        let id = try await again.accept(apiURL: upstream.url("/always"))
        try await again.running {
            let deadline = ContinuousClock.now + .seconds(10)
            while try await again.outbox.exportJobs(executionRef: nil, limit: 1).first?.attempts ?? 0 == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let pending = try #require(try await again.outbox.exportJobs(executionRef: nil, limit: 1).first { $0.eventID.rawValue == id })
        #expect(pending.state == .pending)
        #expect(pending.lastError?.contains("no data for") == true, "\(pending.lastError ?? "")")
    }

    /// A job without stored destinations (recorded before jobs stored them) goes where the routing table's
    /// export routes for its source go now.
    @Test func aJobWithoutDestinationsFollowsTheRoutingTable() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/export", Self.ndjson(Self.jsonLines(3)))
        let harness = try ExportHarness()
        let id = UUID().uuidString.lowercased()
        let ref = UUID().uuidString.lowercased()
        _ = try await harness.outbox.append(NewEvent(
            id: EventID(stored: id), source: "sitecore", type: "com.sitecore.cdp.audience-export.notification", subject: nil, dedupeKey: ref,
            receivedAt: Date(), body: Array("{}".utf8), deliveries: [],
            export: PlannedExport(route: "", destinations: [], executionRef: ExecutionRef(stored: ref), apiURL: upstream.url("/export"))))
        try await harness.running {
            harness.runner.wake()
            let job = try await harness.waitForJob(id)
            #expect(job.state == .done, "\(job.lastError ?? "")")
        }
        #expect(harness.sink.records.count == 3)
    }

    @Test func oauthTokenIsFetchedOnceAndRefreshedAfterA401() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/token", [UpstreamResponse.oauthToken("first"), UpstreamResponse.oauthToken("second")])
        try await upstream.script("/export", [UpstreamResponse.text(401, "expired"), Self.ndjson(Self.jsonLines(2))])
        let harness = try ExportHarness(
            sourceExport: """
                {allowHosts: [127.0.0.1], allowPlainHTTP: [127.0.0.1], allowPrivateAddresses: [127.0.0.1],
                 credentials: {type: oauth2, tokenUrl: "\(upstream.url("/token"))", clientId: relay, clientSecret: env:CS}}
                """,
            secrets: ["CS": "s3cret"])
        try await harness.running {
            let job = try await harness.waitForJob(try await harness.accept(apiURL: upstream.url("/export")))
            #expect(job.state == .done, "\(job.lastError ?? "")")
        }
        let exports = try await upstream.requests(path: "/export")
        #expect(exports.map { $0.header("Authorization") } == ["Bearer first", "Bearer second"])
        #expect(try await upstream.requests(path: "/token").count == 2)
    }

    @Test func aJobResumesFromItsCheckpointWithoutResendingConfirmedRecords() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/export", Self.ndjson(Self.jsonLines(10_000)))
        let harness = try ExportHarness()
        // The destination refuses everything from record 5,000 on: the job stops with its checkpoint.
        harness.sink.setBehavior { item in
            let index = Int(item.headers.first { $0.name == "recordIndex" }?.value ?? "") ?? -1
            return index >= 5000 ? .retry(after: nil, reason: "down") : .delivered
        }
        let id = try await harness.accept(apiURL: upstream.url("/export"))
        try await harness.running {
            let deadline = ContinuousClock.now + .seconds(20)
            while try await harness.outbox.exportJobs(executionRef: nil, limit: 1).first?.attempts ?? 0 == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let stopped = try #require(try await harness.outbox.exportJobs(executionRef: nil, limit: 1).first)
        #expect(stopped.state == .pending)
        #expect(stopped.lastError?.contains("down") == true, "\(stopped.lastError ?? "")")
        let checkpoint = stopped.progress.recordIndex
        #expect(checkpoint > 0 && checkpoint <= 5000)
        let sentBefore = harness.sink.records.count

        harness.sink.setBehavior { _ in .delivered }
        try await harness.running {
            let job = try await harness.waitForJob(id)
            #expect(job.state == .done, "\(job.lastError ?? "")")
            #expect(job.progress.recordsSent == 10_000)
        }
        let indices = harness.sink.records.map { Int($0.headers.first { $0.name == "recordIndex" }!.value)! }
        #expect(Set(indices) == Set(0..<10_000))
        let resent = indices[sentBefore...].filter { $0 < 5000 }
        // Only records after the checkpoint are sent again.
        #expect(resent.allSatisfy { $0 >= Int(checkpoint) })
        #expect(harness.sink.framing.filter { $0.eventType.hasSuffix(".started") }.count == 1)
    }
}
