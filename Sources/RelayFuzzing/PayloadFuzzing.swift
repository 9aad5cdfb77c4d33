// The payload fuzz entry: raw body bytes through the ingest steps after the headers (parse, validate, fan out),
// the same calls in the same order as RelayHTTP's IngestHandler, and the invariants their answers must keep.
import Foundation
import RelayCore

package enum PayloadFuzzing {
    /// The sources every body is validated for: each kind with its defaults, and sources with every kind of
    /// override (enums, required fields, friendlyId length, dedupe keys); routes using each predicate and
    /// template form, a fetchExport route and an HTTP destination.
    package static let tableYAML = """
        version: 1
        sources:
          sitecore: {kind: sitecore-export, path: /hooks/sitecore, export: {allowHosts: ["*.example.com"]}}
          sitecore-strict:
            kind: sitecore-export
            path: /hooks/sitecore-strict
            enums: {status: [SUCCESS, FAILED], definitionType: [DELTA]}
            required: [executionRef, status, friendlyId]
            friendlyIdMaxLength: 8
            dedupeKey: [friendlyId, clientKey, segmentName]
          adobe-runs: {kind: adobe-run, path: /hooks/adobe/runs}
          adobe-runs-stages:
            kind: adobe-run
            path: /hooks/adobe/runs-stages
            enums: {details.stage: [DATASET_INGEST]}
            dedupeKey: [runId, details.*.stage, details.0.flowRunId]
          adobe-operations: {kind: adobe-operation, path: /hooks/adobe/operations}
        destinations:
          events: {type: kafka, brokers: embedded, topic: fuzz.events}
          audit: {type: kafka, brokers: embedded, topic: fuzz.audit}
          profiles: {type: kafka, brokers: embedded, topic: fuzz.profiles}
          hook: {type: http, url: "https://hook.example.com/in"}
        routes:
          - name: every
            source: [sitecore, sitecore-strict, adobe-runs, adobe-runs-stages, adobe-operations]
            to: events
            key: "{{friendlyId}}{{audienceId}}"
            headers: {client-key: "{{clientKey}}", run: "run-{{runId}}/{{details.0.stage}}"}
          - name: finished
            source: [sitecore, adobe-runs]
            match: [{field: status, in: [SUCCESS, FAILED]}, {field: createdBy, exists: false}]
            to: audit
          - name: named
            source: sitecore-strict
            match: [{field: segmentName, regex: "^[A-Z][a-z]+ .*s$"}, {field: apiUrl, prefix: "https://"}]
            to: [hook, audit]
            key: "{{executionRef}}"
          - name: stages
            source: adobe-runs-stages
            match: [{field: details.0.status, equals: SUCCESS}]
            to: hook
          - name: exports
            source: sitecore
            match: [{field: status, equals: SUCCESS}]
            to: profiles
            fetchExport: true
        """

    /// ``tableYAML`` loaded by the production loader.
    package static let table: RoutingTable = {
        switch RoutingTableLoader.load(yaml: tableYAML, file: "payload-fuzz.yaml") {
        case .success(let table): return table
        case .failure(let errors): fatalError("the payload fuzz routing table does not load:\n\(errors)")
        }
    }()

    /// Parses `body` (400 or an object), validates the object for every source of ``table`` (422 or
    /// accepted) and plans the fan-out of each accepted one, checking the invariants of each answer.
    package static func check(_ body: [UInt8]) -> FuzzReport {
        let object: [String: JSONValue]
        do {
            object = try JSONBodyParser.parseObject(body)
        } catch {
            return FuzzReport(verdict: "400 \(error.reason)", violations: error.reason.isEmpty ? ["a 400 without a reason"] : [])
        }
        var verdicts: [String] = []
        var violations: [String] = []
        for source in table.sources {
            switch PayloadValidator.validate(object, rules: source.rules) {
            case .failure(let failure):
                verdicts.append("\(source.name) 422 [\(failure.errors.map(\.field).joined(separator: ", "))]")
                violations += rejectionProblems(failure, object: object, source: source).map { "\(source.name): \($0)" }
            case .success(let payload):
                verdicts.append("\(source.name) 200 \(JSONString.quoted(payload.dedupeKey))")
                violations += acceptanceProblems(payload, object: object, storedBody: body, source: source).map { "\(source.name): \($0)" }
            }
        }
        return FuzzReport(verdict: verdicts.joined(separator: "; "), violations: violations)
    }

    /// A 422 names at least one field of the payload's kind, each with a reason, and is the same the second time.
    static func rejectionProblems(_ failure: ValidationFailure, object: [String: JSONValue], source: SourceConfig) -> [String] {
        var problems: [String] = []
        if failure.errors.isEmpty { problems.append("a 422 with no field errors") }
        for error in failure.errors {
            let root = String(error.field.prefix { $0 != "[" && $0 != "." })
            if !source.kind.knownFields.contains(root) { problems.append("a 422 names \(JSONString.quoted(error.field)), not a field of \(source.kind.rawValue)") }
            if error.reason.isEmpty { problems.append("a 422 for \(error.field) without a reason") }
        }
        if Set(failure.errors).count != failure.errors.count { problems.append("a 422 lists one error twice") }
        if case .failure(let again) = PayloadValidator.validate(object, rules: source.rules), again == failure {} else {
            problems.append("validating the same object again answered differently")
        }
        return problems
    }

    /// An accepted payload keeps every field as sent, the stored bytes parse back to exactly what was
    /// validated (and to the same keys and strings for an independent reader), validation is repeatable,
    /// and its fan-out names only the table's destinations, each once.
    static func acceptanceProblems(_ payload: ValidatedPayload, object: [String: JSONValue], storedBody: [UInt8], source: SourceConfig) -> [String] {
        var problems: [String] = []
        if payload.fields != object { problems.append("accepted fields differ from the parsed body") }
        for field in source.rules.requiredFields where object[field] == nil || object[field] == .null {
            problems.append("accepted without required field \(field)")
        }
        if payload.subject != object[source.kind.subjectField]?.stringValue { problems.append("subject is not the body's \(source.kind.subjectField)") }
        switch PayloadValidator.validate(object, rules: source.rules) {
        case .success(let again) where again.dedupeKey == payload.dedupeKey && again.subject == payload.subject && again.fields == payload.fields:
            break
        default:
            problems.append("validating the same object again answered differently")
        }
        if (try? JSONBodyParser.parseObject(storedBody)) != payload.fields {
            problems.append("the stored body does not parse back to the validated fields")
        }
        if let independent = (try? JSONSerialization.jsonObject(with: Data(storedBody))) as? [String: Any] {
            if Set(independent.keys) != Set(object.keys) { problems.append("JSONSerialization reads other keys from the stored body") }
            for (key, value) in object {
                if case .string(let text) = value, independent[key] as? String != text {
                    problems.append("JSONSerialization reads another \(key) from the stored body")
                }
            }
        } else {
            problems.append("JSONSerialization cannot read the stored body as an object")
        }
        problems += fanOutProblems(source: source, fields: payload.fields)
        return problems
    }

    static func fanOutProblems(source: SourceConfig, fields: [String: JSONValue]) -> [String] {
        var problems: [String] = []
        let plan = FanOut.plan(source: source, fields: fields, table: table)
        let destinations = Set(table.destinations.map(\.name))
        var seen = Set<String>()
        for delivery in plan.deliveries {
            if !destinations.contains(delivery.destination) { problems.append("a delivery to unknown destination \(delivery.destination)") }
            if !seen.insert(delivery.destination).inserted { problems.append("two deliveries to \(delivery.destination)") }
            if !plan.matchedRoutes.contains(delivery.route) { problems.append("a delivery from unmatched route \(delivery.route)") }
        }
        if let export = plan.export {
            if export.apiURL != fields["apiUrl"]?.stringValue { problems.append("an export of another apiUrl") }
            if ExecutionRef(export.executionRef.rawValue) == nil { problems.append("an export with a malformed executionRef") }
        }
        if FanOut.plan(source: source, fields: fields, table: table).deliveries != plan.deliveries {
            problems.append("planning the same event again gave other deliveries")
        }
        return problems
    }
}
