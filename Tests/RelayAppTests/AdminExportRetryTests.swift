// Tests of AdminExportRetry: a dead export job run again through the admin API.
import Foundation
import RelayTestSupport
import Testing

@Suite(.serialized)
struct AdminExportRetryTests {
    @Test func aDeadExportJobRunsAgainFromItsCheckpointWhenRetried() async throws {
        let ops = try await OperatedRelay(routes: """
            version: 1
            sources:
              sitecore:
                kind: sitecore-export
                path: /hooks/sitecore
                export: {allowHosts: ["127.0.0.1"], allowPlainHTTP: ["127.0.0.1"], allowPrivateAddresses: ["127.0.0.1"]}
            destinations:
              alpha: {type: http, url: DEST/a}
            routes:
              - {name: records, source: [sitecore], to: [alpha], fetchExport: true}
            """)
        defer { ops.stop() }
        // The export host says the export is gone: the job is dead, and alpha hears export.failed.
        try await ops.destination.script("/export", .text(410, "gone"))
        let reference = UUID().uuidString.lowercased()
        let body = """
            {"apiUrl":"\(ops.destination.url("/export"))","audienceExportName":"n","clientKey":"k","definitionType":"FULL_SYNC",
             "executionRef":"\(reference)","executionType":"SCHEDULED","friendlyId":"f","segmentName":"s","status":"SUCCESS"}
            """
        #expect(try await ops.relay.client.post("/hooks/sitecore", body: Array(body.utf8)).status == 200)
        func state() async throws -> String? {
            let answer = try await ops.admin("GET", "/admin/exports?executionRef=\(reference)")
            let jobs = (try JSONSerialization.jsonObject(with: Data(answer.body)) as? [[String: Any]]) ?? []
            return jobs.first?["state"] as? String
        }
        #expect(try await eventually { try await state() == "dead" })
        #expect(try await eventually { try await ops.destination.requests(path: "/a").contains { $0.bodyText.contains("\"failed\"") } })

        // Back: three records, and the retry runs the job again.
        try await ops.destination.script("/export", .text(200, "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n",
                                                           headers: [(name: "Content-Type", value: "application/x-ndjson")]))
        let retried = try await ops.admin("POST", "/admin/exports/\(reference)/retry")
        #expect(retried.status == 200, "\(retried.bodyText)")
        #expect(retried.json["requeued"] as? Int == 1)
        #expect(try await eventually { try await state() == "done" })
        let lines = try await ops.destination.requests(path: "/a").flatMap { $0.bodyText.split(separator: "\n") }
        #expect(lines.filter { $0.contains("\"record\":") }.count == 3, "\(lines)")
        #expect(try await ops.admin("POST", "/admin/exports/\(reference)/retry").status == 404, "a job that is done is not retried")
    }
}
