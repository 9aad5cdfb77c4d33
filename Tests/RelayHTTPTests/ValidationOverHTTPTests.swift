// Field rules and enums, exercised through the real listener on a loopback port.
import Foundation
import RelayCore
import RelayTestSupport
import Testing

@Suite struct ValidationOverHTTPTests {
    /// (description, field, replacement value or nil to remove, expected status, reason fragment)
    static var sitecoreCases: [(String, String, Any?, Int, String)] { [
        ("valid https apiUrl", "apiUrl", "https://x.example/a?b=c", 200, ""),
        ("valid http apiUrl", "apiUrl", "http://x.example/a", 200, ""),
        ("relative apiUrl", "apiUrl", "/exports/1", 422, "absolute http or https URL"),
        ("ftp apiUrl", "apiUrl", "ftp://x.example/a", 422, "absolute http or https URL"),
        ("apiUrl not a string", "apiUrl", 42, 422, "must be a string"),
        ("missing apiUrl", "apiUrl", nil, 422, "is required"),
        ("empty audienceExportName", "audienceExportName", "", 422, "must not be empty"),
        ("blank clientKey", "clientKey", "   ", 422, "must not be empty"),
        ("missing segmentName", "segmentName", nil, 422, "is required"),
        ("null segmentName", "segmentName", NSNull(), 422, "is required"),
        ("executionRef not a UUID", "executionRef", "12345", 422, "UUID"),
        ("executionRef with braces", "executionRef", "{9f3c2a4e-5b1d-4c7e-8a2f-1d3e5f7a9b0c}", 422, "UUID"),
        ("executionRef uppercase hex", "executionRef", "9F3C2A4E-5B1D-4C7E-8A2F-1D3E5F7A9B0C", 200, ""),
        ("friendlyId with uppercase", "friendlyId", "Vip_weekly", 422, "only lowercase"),
        ("friendlyId with dash", "friendlyId", "vip-weekly", 422, "only lowercase"),
        ("friendlyId with space", "friendlyId", "vip weekly", 422, "only lowercase"),
        ("friendlyId empty", "friendlyId", "", 422, "must not be empty"),
        ("friendlyId too long", "friendlyId", String(repeating: "a", count: 129), 422, "at most 128"),
        ("friendlyId at limit", "friendlyId", String(repeating: "a", count: 128), 200, ""),
        ("friendlyId digits and _", "friendlyId", "a_1_b_2", 200, ""),
        ("lowercase status", "status", "success", 422, "must be uppercase"),
        ("mixed-case status", "status", "Success", 422, "must be uppercase"),
        ("unknown status", "status", "DONE", 422, "must be one of"),
        ("lowercase definitionType", "definitionType", "delta", 422, "must be uppercase"),
        ("unknown executionType", "executionType", "MANUAL", 422, "must be one of"),
        ("status is a number", "status", 1, 422, "must be a string"),
        ("unknown extra field kept", "customAttribute", ["nested": true], 200, ""),
    ] }

    @Test(arguments: sitecoreCases.indices)
    func sitecoreFieldRule(_ index: Int) async throws {
        let (name, field, value, status, fragment) = Self.sitecoreCases[index]
        var payload = Fixtures.sitecore
        payload[field] = value
        if value == nil { payload.removeValue(forKey: field) }
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            let response = try await relay.client.post("/hooks/sitecore", json: Fixtures.json(payload))
            #expect(response.status == status, "\(name): \(response.bodyText)")
            if status == 422 {
                #expect(response.header("content-type") == "application/problem+json")
                let errors = response.json["errors"] as? [[String: String]] ?? []
                #expect(errors.contains { $0["field"] == field && ($0["reason"] ?? "").contains(fragment) }, "\(name): \(errors)")
            } else {
                #expect(response.header("content-type") == "application/json")
            }
        }
    }

    @Test func everyBadFieldIsReportedAtOnce() async throws {
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            let body = #"{"apiUrl": "nope", "friendlyId": "BAD", "executionRef": "x", "status": "success", "definitionType": "full"}"#
            let response = try await relay.client.post("/hooks/sitecore", json: body)
            #expect(response.status == 422)
            let fields = Set((response.json["errors"] as? [[String: String]] ?? []).compactMap { $0["field"] })
            #expect(fields == ["apiUrl", "friendlyId", "executionRef", "status", "definitionType",
                               "audienceExportName", "clientKey", "executionType", "segmentName"])
            #expect(response.json["type"] as? String == "urn:audience-relay:problem:invalid-fields")
            #expect(response.json["status"] as? Int == 422)
            #expect(response.json["title"] != nil && response.json["detail"] != nil)
        }
    }

    /// Every default enum member of every kind is accepted; its lowercase form is refused as not uppercase.
    @Test(arguments: SourceKind.allCases)
    func everyEnumMember(_ kind: SourceKind) async throws {
        let (path, base): (String, [String: Any]) = switch kind {
        case .sitecoreExport: ("/hooks/sitecore", Fixtures.sitecore)
        case .adobeRun: ("/hooks/adobe/runs", Fixtures.adobeRun)
        case .adobeOperation: ("/hooks/adobe/operations", Fixtures.adobeOperation)
        }
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            for (field, values) in kind.defaultEnums.sorted(by: { $0.key < $1.key }) {
                for (i, value) in values.enumerated() {
                    for candidate in [value, value.lowercased()] {
                        var payload = base
                        if field.hasPrefix("details.") {
                            payload["details"] = [[String(field.dropFirst(8)): candidate]]
                        } else {
                            payload[field] = candidate
                        }
                        // A fresh identity each time so dedupe does not hide the answer.
                        payload["executionRef"] = kind == .sitecoreExport ? UUID().uuidString.lowercased() : nil
                        payload["runId"] = kind == .adobeRun ? "run-\(field)-\(i)-\(candidate)" : nil
                        payload["operationId"] = kind == .adobeOperation ? "op-\(field)-\(i)-\(candidate)" : nil
                        let response = try await relay.client.post(path, json: Fixtures.json(payload))
                        if candidate == value {
                            #expect(response.status == 200, "\(kind) \(field)=\(candidate): \(response.bodyText)")
                        } else {
                            #expect(response.status == 422, "\(kind) \(field)=\(candidate)")
                            #expect(response.bodyText.contains("must be uppercase"), "\(response.bodyText)")
                        }
                    }
                }
            }
        }
    }

    @Test func perSourceEnumOverride() async throws {
        let yaml = """
            sources:
              sitecore:
                kind: sitecore-export
                path: /hooks/sitecore
                enums: {status: [SUCCESS, PARTIAL]}
            destinations: {events: {type: kafka, brokers: embedded, topic: events}}
            routes: [{name: all, source: sitecore, to: events}]
            """
        try await TestRelay.run(yaml: yaml) { relay in
            var payload = Fixtures.sitecore
            payload["status"] = "PARTIAL"
            #expect(try await relay.client.post("/hooks/sitecore", json: Fixtures.json(payload)).status == 200)
            payload["status"] = "FAILED"
            payload["executionRef"] = UUID().uuidString
            let refused = try await relay.client.post("/hooks/sitecore", json: Fixtures.json(payload))
            #expect(refused.status == 422)
            #expect(refused.bodyText.contains("SUCCESS, PARTIAL"))
        }
    }

    @Test func adobeRunDetailsAreValidated() async throws {
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            var payload = Fixtures.adobeRun
            payload["details"] = [["stage": "dataset_ingest", "status": "SUCCESS"], ["stage": "PROFILE_STORE_INGEST", "status": "WHATEVER"], "x"]
            let response = try await relay.client.post("/hooks/adobe/runs", json: Fixtures.json(payload))
            #expect(response.status == 422)
            let fields = Set((response.json["errors"] as? [[String: String]] ?? []).compactMap { $0["field"] })
            #expect(fields == ["details[0].stage", "details[1].status", "details[2]"])
        }
    }

    /// The SPEC's Sitecore field list, every Adobe shape, and every sample under routes/examples are accepted as-is.
    @Test func samplesFromRoutesExamplesAreAccepted() async throws {
        let examples = Fixtures.repositoryRoot.appendingPathComponent("routes/examples")
        let samples = try FileManager.default.contentsOfDirectory(atPath: examples.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(samples.count >= 3)
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            var posted: [String] = []
            for name in samples {
                let body = try Array(Data(contentsOf: examples.appendingPathComponent(name)))
                let path = name.hasPrefix("sitecore") ? "/hooks/sitecore" : name.contains("run") ? "/hooks/adobe/runs" : "/hooks/adobe/operations"
                let response = try await relay.client.post(path, body: body)
                #expect(response.status == 200, "\(name): \(response.bodyText)")
                #expect(response.json["duplicate"] as? Bool == false)
                posted.append(String(decoding: body, as: UTF8.self))
            }
            for payload in [Fixtures.sitecore, Fixtures.adobeRun, Fixtures.adobeOperation] {
                let path = payload["friendlyId"] != nil ? "/hooks/sitecore" : payload["runId"] != nil ? "/hooks/adobe/runs" : "/hooks/adobe/operations"
                var fresh = payload
                if fresh["executionRef"] != nil { fresh["executionRef"] = UUID().uuidString.lowercased() }
                if fresh["runId"] != nil { fresh["runId"] = "run-fresh" }
                if fresh["operationId"] != nil { fresh["operationId"] = "op-fresh" }
                let json = Fixtures.json(fresh)
                #expect(try await relay.client.post(path, json: json).status == 200)
                posted.append(json)
            }
            // Stored verbatim, byte for byte, unknown fields included.
            #expect(try await relay.storedEvents().map(\.body) == posted)
        }
    }

    /// Adobe documents `createdAt` and the filter times in epoch seconds: the sample uses seconds, and a
    /// sender's milliseconds (or any other non-negative number) are still accepted, never refused.
    @Test func adobeRunSampleUsesEpochSecondsAndOtherUnitsAreStillAccepted() async throws {
        let file = Fixtures.repositoryRoot.appendingPathComponent("routes/examples/adobe-run-status.json")
        let sample = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        for field in ["createdAt", "dataFilterStartTime", "dataFilterEndTime"] {
            let value = try #require(sample[field] as? Double, "\(field)")
            // 2001-09-09 … 2286-11-20 in seconds; a millisecond timestamp of today is 1000 times larger.
            #expect(value >= 1_000_000_000 && value < 10_000_000_000, "\(field) = \(value) is not epoch seconds")
        }
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            for (index, createdAt) in [1764086500000, 0, 1764086500.25].enumerated() {
                var payload = Fixtures.adobeRun
                payload["runId"] = "run-unit-\(index)"
                payload["createdAt"] = createdAt
                payload["dataFilterStartTime"] = createdAt
                let response = try await relay.client.post("/hooks/adobe/runs", json: Fixtures.json(payload))
                #expect(response.status == 200, "createdAt \(createdAt): \(response.bodyText)")
            }
        }
    }
}
