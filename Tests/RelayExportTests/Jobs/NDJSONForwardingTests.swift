// Export records to an HTTP destination: NDJSON requests of N records or about M bytes, signed, one envelope per line.
import Foundation
import Logging
import RelayCore
import RelayCurl
import RelayDelivery
import RelayTestSupport
import Testing

@Suite(.serialized) struct NDJSONForwardingTests {
    static let identity = ExportIdentity(eventID: EventID(stored: "evt-1"), source: "sitecore", executionRef: ExecutionRef(stored: "6f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c"),
                                         notificationType: "com.sitecore.cdp.audience-export.notification", receivedAt: Date())

    static func records(_ count: Int, valueBytes: Int = 20) -> [ExportRecord] {
        (0..<count).map { index in
            let padding = String(repeating: "x", count: max(0, valueBytes - 20))
            return ExportRecord(key: "p\(index)", value: Array(#"{"id":\#(index),"pad":"\#(padding)"}"#.utf8), fileIndex: 1,
                                recordIndex: Int64(index), change: index % 2 == 0 ? "added" : nil,
                                profileID: index == 1 ? "profile-1" : nil)
        }
    }

    static func sink(url: String, secret: String? = nil) -> (HTTPSink, CurlClient) {
        var logger = Logger(label: "ndjson-test")
        logger.logLevel = .critical
        let client = CurlClient(logger: logger)
        let key = secret.map { StandardWebhooks.key(fromSecret: $0) }
        return (HTTPSink(name: "crm", destination: HTTPDestination(url: url, concurrency: 2), signingKey: key, client: client, logger: logger), client)
    }

    @Test func recordsTravelAsSignedNDJSONEnvelopesInBoundedRequests() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/ingest", UpstreamResponse(status: 204))
        let (sink, client) = Self.sink(url: upstream.url("/ingest"), secret: "c2VjcmV0LWtleS1mb3ItdGVzdHM=")
        defer { client.shutdown() }
        let records = Self.records(25)
        let outcomes = await sink.forward(ExportRecordBatch(export: Self.identity, records: records,
                                                            maxRecordsPerRequest: 10, maxBytesPerRequest: 1 << 20))
        #expect(outcomes == Array(repeating: .delivered, count: 25))
        let requests = try await upstream.requests(path: "/ingest").sorted {
            ($0.header("ce-id") ?? "").localizedStandardCompare($1.header("ce-id") ?? "") == .orderedAscending
        }
        #expect(requests.count == 3)
        var lines: [[String: Any]] = []
        for request in requests {
            #expect(request.header("Content-Type") == "application/x-ndjson")
            #expect(request.header("ce-type") == "com.sitecore.cdp.audience-export.records")
            let verified = StandardWebhooks.verify(
                id: request.header("webhook-id"), timestamp: request.header("webhook-timestamp"),
                signatures: request.header("webhook-signature"), body: request.body,
                keys: [StandardWebhooks.key(fromSecret: "c2VjcmV0LWtleS1mb3ItdGVzdHM=")], tolerance: .seconds(300), now: Date())
            #expect(verified == nil, "signature of \(request.header("ce-id") ?? "")")
            for line in request.body.split(separator: UInt8(ascii: "\n")) {
                lines.append(try #require(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]))
            }
        }
        #expect(requests.map { $0.body.split(separator: UInt8(ascii: "\n")).count } .sorted() == [5, 10, 10])
        #expect(lines.compactMap { $0["record"] as? Int }.sorted() == Array(0..<25))
        #expect(lines.allSatisfy { $0["executionRef"] as? String == Self.identity.executionRef.rawValue && $0["file"] as? Int == 1 })
        let first = try #require(lines.first { $0["record"] as? Int == 0 })
        #expect(first["key"] as? String == "p0")
        #expect(first["change"] as? String == "added")
        #expect((first["data"] as? [String: Any])?["id"] as? Int == 0)
        #expect(first["profileId"] == nil)
        // A keyed export's profile id stays in the envelope when the route's key template made another key.
        let keyed = try #require(lines.first { $0["record"] as? Int == 1 })
        #expect(keyed["key"] as? String == "p1")
        #expect(keyed["profileId"] as? String == "profile-1")
    }

    @Test func requestsAlsoStopAtTheByteBudgetAndShareTheirOutcome() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/ingest", [UpstreamResponse(status: 204), UpstreamResponse.text(400, "bad batch")])
        let (sink, client) = Self.sink(url: upstream.url("/ingest"))
        defer { client.shutdown() }
        // About 400 bytes per record with its envelope under a 1,300-byte budget: three records per request.
        let records = Self.records(6, valueBytes: 300)
        let outcomes = await sink.forward(ExportRecordBatch(export: Self.identity, records: records,
                                                            maxRecordsPerRequest: 500, maxBytesPerRequest: 1300))
        let requests = try await upstream.requests(path: "/ingest")
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0.body.split(separator: UInt8(ascii: "\n")).count == 3 })
        // One request was accepted, the other refused: each record shares its request's outcome.
        #expect(outcomes.filter { $0 == .delivered }.count == 3)
        #expect(outcomes.filter { if case .dead = $0 { return true } else { return false } }.count == 3)
    }

    /// A dead-lettered export ends an HTTP destination's lines with one of kind `failed`.
    @Test func exportFailedIsAFinalNDJSONLineOfKindFailed() async throws {
        let upstream = try await UpstreamServer.start()
        defer { upstream.stop() }
        try await upstream.script("/ingest", UpstreamResponse(status: 204))
        let (sink, client) = Self.sink(url: upstream.url("/ingest"))
        defer { client.shutdown() }
        let body = Array(#"{"reason":"gone (410): x","recordCount":7,"type":"export.failed","upstreamStatus":410}"#.utf8)
        let outcome = await sink.deliverExportFailure(Self.identity, body: body, destination: "crm")
        #expect(outcome == .delivered)
        let request = try #require(try await upstream.requests(path: "/ingest").first)
        #expect(request.header("Content-Type") == "application/x-ndjson")
        #expect(request.header("ce-id") == "evt-1/failed")
        #expect(request.header("ce-type") == "com.sitecore.cdp.audience-export.failed")
        let lines = request.body.split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == 1)
        let first = try #require(lines.first)
        let line = try #require(JSONSerialization.jsonObject(with: Data(first)) as? [String: Any])
        #expect(line["kind"] as? String == "failed")
        #expect(line["executionRef"] as? String == Self.identity.executionRef.rawValue)
        let data = try #require(line["data"] as? [String: Any])
        #expect(data["recordCount"] as? Int == 7 && data["upstreamStatus"] as? Int == 410)
    }
}
