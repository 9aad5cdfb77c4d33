// The routing-table loader: a good table resolves; a bad one reports every mistake with its line.
import Foundation
import RelayCore
import Testing

@Suite struct RoutingTableLoaderTests {
    static let good = """
        version: 1
        sources:
          sitecore:
            kind: sitecore-export
            path: /hooks/sitecore
            maxBodyBytes: 512KiB
            friendlyIdMaxLength: 64
            enums: {status: [SUCCESS, FAILED]}
            auth: {type: basic, username: relay, password: env:PW}
            export:
              allowHosts: [api.example.com, "*.sitecorecloud.io"]
              allowPlainHTTP: [api.example.com]
              credentials: {type: oauth2, tokenUrl: "https://auth.example.com/token", clientId: relay, clientSecret: env:CS, scope: export, extraParams: {audience: "https://api.example.com"}}
              maxFileBytes: 1GiB
              pollDeadline: 2h
        destinations:
          k:
            type: kafka
            brokers: embedded
            topic: audience.events
            properties: {compression.type: zstd, linger.ms: 10}
            delivery: {maxAttempts: 5, maxAge: 1h, initialBackoff: 100ms, maxBackoff: 30s}
          h:
            type: http
            url: https://crm.example.com/hook
            signingSecret: file:/etc/secret
            retryOnStatus: [429, 503]
            breaker: {failures: 3, coolDown: 10s}
        routes:
          - name: all
            source: sitecore
            to: [k, h]
            key: "{{clientKey}}-{{friendlyId}}"
            headers: {x-segment: "{{segmentName}}"}
            fetchExport: true
            export: {format: csv, key: "{{email}}", onMalformed: fail, batchRecords: 100, csv: {delimiter: ";", header: false, columns: [id, email]}}
            match:
              - {field: status, in: [SUCCESS]}
              - {field: friendlyId, regex: "^vip_"}
              - {field: extra, exists: false}
        """

    @Test func goodTableResolvesToTypedValues() throws {
        let table = try RoutingTableLoader.load(yaml: Self.good, file: "good.yaml").get()
        let source = try #require(table.source(forPath: "/hooks/sitecore"))
        #expect(source.maxBodyBytes == 512 * 1024)
        #expect(source.rules.friendlyIdMaxLength == 64)
        #expect(source.rules.enums["status"] == ["SUCCESS", "FAILED"])
        #expect(source.rules.enums["definitionType"] == ["FULL_SYNC", "DELTA"])
        #expect(source.auth == .basic(username: "relay", password: SecretReference(location: .environment("PW"))))
        guard case .kafka(let kafka)? = table.destination(named: "k")?.kind else { Issue.record("k is not kafka"); return }
        #expect(kafka.mockBrokerCount == 3)
        #expect(kafka.properties["linger.ms"] == "10")
        #expect(table.destination(named: "k")?.delivery.maxAttempts == 5)
        #expect(table.destination(named: "k")?.delivery.maxAge == .seconds(3600))
        guard case .http(let http)? = table.destination(named: "h")?.kind else { Issue.record("h is not http"); return }
        #expect(http.retryOnStatus == [429, 503])
        #expect(http.breakerFailures == 3)
        #expect(http.signingSecret == SecretReference(location: .file("/etc/secret")))
        let route = try #require(table.routes.first)
        #expect(route.predicates.count == 3)
        #expect(route.fetchExport)
        #expect(route.export.format == .csv)
        #expect(route.export.key?.source == "{{email}}")
        #expect(route.export.onMalformed == .fail)
        #expect(route.export.batchRecords == 100)
        let export = try #require(source.export)
        #expect(export.allowHosts == ["api.example.com", "*.sitecorecloud.io"])
        #expect(export.allowPlainHTTP == ["api.example.com"])
        #expect(export.maxFileBytes == 1 << 30)
        #expect(export.pollDeadline == .seconds(7200))
        #expect(export.credentials == .oauth2(OAuth2ClientCredentials(
            tokenURL: "https://auth.example.com/token", clientID: "relay",
            clientSecret: SecretReference(location: .environment("CS")), scope: "export",
            extraParameters: [.init(name: "audience", value: "https://api.example.com")])))
        #expect(route.export.csv == ExportCSVOptions(delimiter: UInt8(ascii: ";"), header: false, columns: ["id", "email"]))
        #expect(route.key?.source == "{{clientKey}}-{{friendlyId}}")
    }

    /// One file with many different mistakes: every one is reported, each at its own line.
    @Test func everyMistakeIsReportedWithItsLine() {
        let bad = """
            version: 1
            sources:
              sitecore:
                kind: sitecore-exprot
                path: hooks/sitecore
                auth: {type: bearer, token: "hunter2"}
                colour: blue
              adobe:
                kind: adobe-run
                path: /hooks/adobe
                enums: {status: [success]}
            destinations:
              k:
                type: kafka
                brokers: embedded
                topic: "bad topic!"
              h:
                type: http
                url: not-a-url
                timeout: soon
            routes:
              - name: r1
                source: sitecore
                to: [k, nowhere]
                key: "{{friendlyId"
                match:
                  - {field: status, regex: "([unclosed"}
                  - {field: status, equals: A, prefix: B}
              - name: r1
                source: ghost
                to: h
            """
        let errors: [ConfigError]
        switch RoutingTableLoader.load(yaml: bad, file: "bad.yaml") {
        case .success: Issue.record("bad table loaded"); return
        case .failure(let failure): errors = failure.errors
        }
        let expected: [(line: Int, fragment: String)] = [
            (4, "unknown kind 'sitecore-exprot'"),
            (5, "must be an absolute URL path"),
            (6, "never written inline"),
            (7, "unknown key 'colour'"),
            (11, "must be uppercase"),
            (16, "not a valid Kafka topic name"),
            (19, "absolute http or https URL"),
            (20, "must be a duration"),
            (24, "unknown destination 'nowhere'"),
            (25, "unclosed '{{'"),
            (27, "invalid regular expression"),
            (28, "exactly one of equals, in, prefix, regex, exists"),
            (29, "duplicate route name 'r1'"),
            (30, "unknown source 'ghost'"),
        ]
        for (line, fragment) in expected {
            #expect(errors.contains { $0.line == line && $0.message.contains(fragment) }, "line \(line): \(fragment)\n\(errors)")
        }
        #expect(errors.count == expected.count, "\(errors)")
        #expect(errors.allSatisfy { $0.file == "bad.yaml" && $0.column >= 1 })
        #expect(errors.map(\.description).contains { $0.hasPrefix("bad.yaml:7:5: ") })
    }

    /// Mistakes in the export sections are reported like any other, each at its line.
    @Test func exportMistakesAreReported() {
        let yaml = """
            sources:
              s:
                kind: sitecore-export
                path: /s
                export:
                  allowHosts: [api.example.com]
                  allowPlainHTTP: [other.example.com]
                  credentials: {type: oauth2, clientId: x}
              n: {kind: sitecore-export, path: /n}
              a: {kind: adobe-run, path: /a}
            destinations:
              k: {type: kafka, brokers: embedded, topic: t}
            routes:
              - {name: r1, source: s, to: k, fetchExport: true, export: {format: xml, onMalformed: maybe}}
              - {name: r2, source: n, to: k, fetchExport: true}
              - {name: r3, source: a, to: k, fetchExport: true}
              - {name: r4, source: s, to: k, export: {format: csv}}
            """
        guard case .failure(let errors) = RoutingTableLoader.load(yaml: yaml, file: "x.yaml") else {
            Issue.record("a table with export mistakes loaded")
            return
        }
        let messages = errors.errors.map { "\($0.line): \($0.message)" }
        let expected = [
            "7: source 's'.export.allowPlainHTTP: 'other.example.com' must also be listed in allowHosts",
            "8: source 's'.export.credentials: credentials type 'oauth2' needs tokenUrl, clientSecret",
            "14: route 'r1'.export.format: unknown format 'xml'",
            "14: route 'r1'.export.onMalformed: must be skip or fail (got 'maybe')",
            "15: route 'r2': fetchExport needs an export: section (allowHosts, credentials) on source 'n'",
            "16: route 'r3': fetchExport needs sources whose events carry apiUrl (kind sitecore-export); 'a' is adobe-run",
            "17: route 'r4'.export applies only with fetchExport: true",
        ]
        for line in expected {
            #expect(messages.contains { $0.hasPrefix(line) }, "missing: \(line) in \(messages)")
        }
    }

    /// `export.csv` and OAuth2 `extraParams` mistakes, each at its line and column.
    @Test func csvAndTokenParameterMistakesAreReported() throws {
        let yaml = """
            sources:
              s:
                kind: sitecore-export
                path: /s
                export:
                  allowHosts: [api.example.com]
                  credentials: {type: oauth2, tokenUrl: "https://a.example.com/t", clientId: x, clientSecret: env:S,
                                extraParams: {audience: aud, grant_type: password}}
            destinations:
              k: {type: kafka, brokers: embedded, topic: t}
            routes:
              - {name: r1, source: s, to: k, fetchExport: true, export: {csv: {delimiter: ":", header: false, columns: [a, b]}}}
              - {name: r2, source: s, to: k, fetchExport: true, export: {csv: {header: false}}}
              - {name: r3, source: s, to: k, fetchExport: true, export: {csv: {columns: [a]}}}
              - {name: r4, source: s, to: k, fetchExport: true, export: {csv: {header: false, columns: [a, a], quote: "'"}}}
              - {name: r5, source: s, to: k, fetchExport: true, export: {format: jsonl, csv: {delimiter: "|"}}}
              - {name: r6, source: s, to: k, fetchExport: true, export: {csv: {delimiter: "\\t", header: maybe}}}
            """
        guard case .failure(let errors) = RoutingTableLoader.load(yaml: yaml, file: "x.yaml") else {
            Issue.record("a table with csv mistakes loaded")
            return
        }
        let messages = errors.errors.map { "\($0.line): \($0.message)" }
        let expected = [
            "8: source 's'.export.credentials.extraParams: 'grant_type' is set by the relay",
            "12: route 'r1'.export.csv.delimiter must be one of ',' ';' '|' or tab (got \":\")",
            "13: route 'r2'.export.csv: header: false needs columns: [name, ...]",
            "14: route 'r3'.export.csv.columns applies only with header: false",
            "15: route 'r4'.export.csv.columns names \"a\" twice",
            "15: route 'r4'.export.csv: unknown key 'quote'",
            "16: route 'r5'.export.csv applies only to CSV exports (format is jsonl)",
            "17: route 'r6'.export.csv.header must be true or false",
        ]
        for line in expected {
            #expect(messages.contains { $0.hasPrefix(line) }, "missing: \(line) in \(messages)")
        }
        #expect(errors.errors.allSatisfy { $0.column > 1 }, "\(errors)")

        // Tab, spelled as a YAML escape or as `tab`, is a delimiter; csv alone implies format csv.
        let good = yaml.replacingOccurrences(of: "grant_type: password", with: "resource: r")
            .split(separator: "\n").prefix(11).joined(separator: "\n") + """

              - {name: t1, source: s, to: k, fetchExport: true, export: {csv: {delimiter: "\\t"}}}
              - {name: t2, source: s, to: k, fetchExport: true, export: {csv: {delimiter: tab, header: false, columns: [a]}}}
            """
        let table = try RoutingTableLoader.load(yaml: good, file: "good.yaml").get()
        #expect(table.routes.map(\.export.csv.delimiter) == [9, 9])
        #expect(table.routes.map(\.export.format) == [.csv, .csv])
        #expect(table.routes[1].export.csv.columns == ["a"])
    }
}
