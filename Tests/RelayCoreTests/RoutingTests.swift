// Templates, predicates and fan-out resolution (pure functions).
import RelayCore
import Testing

@Suite struct RoutingTests {
    static let event: JSONValue = .object([
        "friendlyId": .string("vip_1"), "status": .string("SUCCESS"), "count": .number(3), "flag": .bool(true),
        "details": .array([.object(["stage": .string("DATASET_INGEST")])]),
    ])

    @Test(arguments: [
        ("{{friendlyId}}", "vip_1"), ("k-{{ status }}-{{count}}", "k-SUCCESS-3"), ("{{details.0.stage}}", "DATASET_INGEST"),
        ("{{missing}}x", "x"), ("plain", "plain"), ("{{flag}}", "true"),
    ])
    func templateRenders(_ template: String, _ expected: String) throws {
        #expect(try Template(parsing: template).render(Self.event) == expected)
    }

    @Test(arguments: ["{{a", "{{}}", "a}}", "{{a b}}"])
    func badTemplateIsRefused(_ template: String) {
        #expect(throws: TemplateError.self) { try Template(parsing: template) }
    }

    @Test func predicates() throws {
        func p(_ field: String, _ test: Predicate.Test) -> Bool { Predicate(field: FieldPath(field), test: test).matches(Self.event) }
        #expect(p("status", .equals("SUCCESS")))
        #expect(!p("status", .equals("success")))
        #expect(p("status", .oneOf(["FAILED", "SUCCESS"])))
        #expect(p("friendlyId", .prefix("vip_")))
        #expect(!p("friendlyId", .prefix("crm_")))
        #expect(p("friendlyId", .regex(try CompiledRegex("^vip_[0-9]+$"))))
        #expect(p("count", .equals("3")))
        #expect(p("flag", .equals("true")))
        #expect(p("details.0.stage", .exists(true)))
        #expect(p("nothing", .exists(false)))
        #expect(!p("nothing", .equals("")))
    }

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
        #expect(plan.export == PlannedExport(route: "second", destinations: ["k", "h"], executionRef: "3f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c",
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
        #expect(alert.export == PlannedExport(route: "named", destinations: ["h"], executionRef: "3f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c",
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
