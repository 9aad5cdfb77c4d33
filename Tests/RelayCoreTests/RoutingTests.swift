// Fan-out resolution (pure functions); templates and predicates have their own suites.
import RelayCore
import Testing

@Suite struct RoutingTests {
    @Test func fanOutDeduplicatesDestinationsAndRendersKeys() throws {
        let yaml = """
            sources: {s: {kind: sitecore-export, path: /s, export: {allowHosts: [api.example.com]}}, a: {kind: adobe-run, path: /a}}
            destinations:
              k: {type: kafka, brokers: embedded, topic: t}
              h: {type: http, url: "https://x.example/h"}
              other: {type: kafka, brokers: embedded, topic: o}
            routes:
              - {name: first, source: s, to: [k], headers: {seg: "{{segmentName}}"}}
              - {name: second, source: s, match: [{field: status, equals: SUCCESS}], to: [k, h], key: "x-{{clientKey}}", fetchExport: true}
              - {name: failures, source: s, match: [{field: status, equals: FAILED}], to: [other]}
              - {name: adobe, source: a, to: [other]}
            """
        let table = try RoutingTableLoader.load(yaml: yaml, file: "t").get()
        let source = try #require(table.source(named: "s"))
        let fields: [String: JSONValue] = ["friendlyId": .string("f_1"), "status": .string("SUCCESS"), "clientKey": .string("ck"), "segmentName": .string("seg"),
                                        "executionRef": .string("3f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c"), "apiUrl": .string("https://api.example.com/export/1")]
        let plan = FanOut.plan(source: source, fields: fields, table: table)
        #expect(plan.matchedRoutes == ["first", "second"])
        // The export route's destinations get the export, not the notification.
        #expect(plan.export == PlannedExport(route: "second", destinations: ["k", "h"], executionRef: ExecutionRef("3f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c")!,
                                             apiURL: "https://api.example.com/export/1"))
        #expect(plan.deliveries.map(\.destination) == ["k"])
        #expect(plan.deliveries[0].key == "f_1")  // default key for Sitecore: friendlyId
        #expect(plan.deliveries[0].headers == [PlannedDelivery.Header(name: "seg", value: "seg")])
        let unmatched = FanOut.plan(source: source, fields: ["status": .string("PENDING_EMR_JOB")], table: table)
        #expect(unmatched.deliveries.map(\.destination) == ["k"])
        #expect(unmatched.deliveries[0].key == nil)  // no friendlyId → no key
    }

    static let exportTable = """
        sources: {s: {kind: sitecore-export, path: /s, export: {allowHosts: [api.example.com]}}}
        destinations:
          k: {type: kafka, brokers: embedded, topic: t}
          h: {type: kafka, brokers: embedded, topic: h}
        routes:
          - {name: any-status, source: s, to: [k], fetchExport: true}
          - {name: named, source: s, match: [{field: status, in: [SUCCESS, ALERT]}], to: [h], fetchExport: true}
        """

    static func notification(_ status: String) -> [String: JSONValue] {
        ["status": .string(status), "executionRef": .string("3f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c"),
         "apiUrl": .string("https://api.example.com/export/1")]
    }

    /// A FAILED or PENDING notification has no export: a fetchExport route without a status predicate
    /// fetches only for SUCCESS; one that names statuses fetches for exactly those.
    @Test func fetchExportOnlyForSuccessUnlessTheRouteNamesStatuses() throws {
        let table = try RoutingTableLoader.load(yaml: Self.exportTable, file: "t").get()
        let source = try #require(table.source(named: "s"))
        let success = FanOut.plan(source: source, fields: Self.notification("SUCCESS"), table: table)
        #expect(success.matchedRoutes == ["any-status", "named"])
        #expect(success.export?.destinations == ["k", "h"])
        for status in ["FAILED", "PENDING_EMR_JOB"] {
            let plan = FanOut.plan(source: source, fields: Self.notification(status), table: table)
            #expect(plan.export == nil, "\(status)")
            #expect(plan.matchedRoutes.isEmpty, "\(status)")
        }
        let alert = FanOut.plan(source: source, fields: Self.notification("ALERT"), table: table)
        #expect(alert.export == PlannedExport(route: "named", destinations: ["h"], executionRef: ExecutionRef("3f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c")!,
                                              apiURL: "https://api.example.com/export/1"))
    }

    @Test func warningsNameFetchExportRoutesThatAdmitOtherStatuses() throws {
        let table = try RoutingTableLoader.load(yaml: Self.exportTable + """

              - {name: successes, source: s, match: [{field: status, equals: SUCCESS}], to: [k], fetchExport: true}
              - {name: plain, source: s, to: [k]}
            """, file: "t").get()
        let warnings = RoutingTableWarnings.warnings(table)
        #expect(warnings.count == 2, "\(warnings)")
        #expect(warnings.first?.hasPrefix("route 'any-status': its predicates admit any status") == true, "\(warnings)")
        #expect(warnings.last?.hasPrefix("route 'named': fetchExport for status ALERT") == true, "\(warnings)")
    }
}
