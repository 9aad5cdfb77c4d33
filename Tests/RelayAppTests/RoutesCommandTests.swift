// `audience-relay routes check|explain` run as a real process, as an operator would.
import Foundation
import Testing

@Suite struct RoutesCommandTests {
    @Test func shippedTablesAreValid() throws {
        let files = ["routes/routes.yaml"] + (try FileManager.default.contentsOfDirectory(
            atPath: RelayBinary.repositoryRoot.appendingPathComponent("routes/examples").path)
            .filter { $0.hasSuffix(".yaml") }.map { "routes/examples/\($0)" })
        #expect(files.count >= 3)
        for file in files {
            let (status, output) = try RelayBinary.run(["routes", "check", file])
            #expect(status == 0, "\(file): \(output)")
            #expect(output.contains("OK"))
        }
    }

    @Test func badFileReportsEveryMistakeWithLineNumbersAndExitsOne() throws {
        let bad = """
            sources:
              sitecore:
                kind: sitecore
                path: /hooks/sitecore
                auth: {type: basic, username: u, password: plaintext}
            destinations:
              k: {type: kafka, brokers: embedded, topic: "no spaces allowed"}
              h: {type: http, url: "https://x.example", concurrency: zero}
            routes:
              - name: r
                source: sitecore
                to: [k, missing]
                key: "{{unclosed"
                surprise: true
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yaml").path
        try bad.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (status, output) = try RelayBinary.run(["routes", "check", path])
        #expect(status == 1)
        let lines = output.split(separator: "\n").filter { $0.hasPrefix("\(path):") }
        let reported = Set(lines.compactMap { Int($0.dropFirst(path.count + 1).prefix { $0 != ":" }) })
        #expect(reported == [3, 5, 7, 8, 12, 13, 14], "\(output)")
        #expect(output.contains("7 error(s)"), "\(output)")
    }

    @Test func checkWarnsAboutAFetchExportRouteThatAdmitsEveryStatus() throws {
        let table = """
            sources:
              sitecore: {kind: sitecore-export, path: /hooks/sitecore, export: {allowHosts: [api.example.com]}}
            destinations:
              k: {type: kafka, brokers: embedded, topic: t}
            routes:
              - {name: exports, source: sitecore, to: [k], fetchExport: true}
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("warn-\(UUID().uuidString).yaml").path
        try table.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (status, output) = try RelayBinary.run(["routes", "check", path])
        #expect(status == 0, "\(output)")
        #expect(output.contains("warning: route 'exports': its predicates admit any status"), "\(output)")
        // The shipped export example names SUCCESS and draws no warning.
        let (_, example) = try RelayBinary.run(["routes", "check", "routes/examples/sitecore-export.yaml"])
        #expect(!example.contains("warning"), "\(example)")
    }

    @Test func explainShowsRoutesAndDeliveries() throws {
        let (status, output) = try RelayBinary.run(["routes", "explain", "routes/examples/sitecore-fanout.yaml", "routes/examples/sitecore-notification.json"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("matched routes: all-notifications, finished-exports-to-crm"))
        #expect(output.contains("-> crm-webhook"))
        #expect(output.contains(#"key="vip_weekly_export""#))
    }

    @Test func serveRefusesAMissingSecretClearly() throws {
        let (status, output) = try RelayBinary.run(["serve", "--config", "routes/examples/sitecore-fanout.yaml", "--data-dir", NSTemporaryDirectory() + "relay-\(UUID().uuidString)"],
                                                   environment: ["SITECORE_WEBHOOK_PASSWORD": "", "CRM_SIGNING_SECRET": ""])
        #expect(status != 0)
        #expect(output.contains("SITECORE_WEBHOOK_PASSWORD is not set"), "\(output)")
    }
}
