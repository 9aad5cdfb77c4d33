// The routing-table fuzz entry: file bytes through the production loader (what `routes check`, `serve` and a
// reload run), and what must hold of its answer: a table whose names all resolve, or errors with line:column.
import Foundation
import RelayCore

package enum RoutesFuzzing {
    static let file = "fuzz.yaml"

    /// Example notifications (SPEC §1–2) that every table that loads is asked to route.
    static let events: [JSONValue] = [
        .object([
            "apiUrl": .string("https://api.example.com/v2/exports/9f3c2a4e-5b1d-4c7e-8a2f-1d3e5f7a9b0c/download"),
            "audienceExportName": .string("Weekly VIP customers"), "clientKey": .string("pqsDATA3lw12v5a9rrHPW1c4hET73GxQ"),
            "definitionType": .string("FULL_SYNC"), "executionRef": .string("9f3c2a4e-5b1d-4c7e-8a2f-1d3e5f7a9b0c"),
            "executionType": .string("SCHEDULED"), "friendlyId": .string("vip_weekly_export"),
            "segmentName": .string("VIP customers"), "status": .string("SUCCESS"),
        ]),
        .object([
            "audienceId": .string("a3b1c2d4-1111-2222-3333-444455556666"), "runId": .string("r-7f1e2d3c"),
            "status": .string("SUCCESS"), "differentialIngestion": .bool(false), "createdAt": .number(1_764_086_500),
            "details": .array([.object(["stage": .string("DATASET_INGEST"), "status": .string("SUCCESS")])]),
        ]),
        .object(["operationId": .string("op-5d6e7f80"), "status": .string("FAILED"), "audienceId": .string("a3b1")]),
    ]

    /// Loads `bytes` as a routing-table file and checks the answer.
    package static func check(_ bytes: [UInt8]) -> FuzzReport {
        switch RoutingTableLoader.load(contents: Data(bytes), file: file) {
        case .failure(let errors):
            return FuzzReport(verdict: "rejected: \(errors.errors.first.map(\.description) ?? "no error")"
                                  + (errors.errors.count > 1 ? " (+\(errors.errors.count - 1) more)" : ""),
                              violations: errorProblems(errors, bytes: bytes))
        case .success(let table):
            return FuzzReport(verdict: "loaded: \(table.sources.count) source(s), \(table.destinations.count) destination(s), \(table.routes.count) route(s)",
                              violations: tableProblems(table))
        }
    }

    /// A rejection lists at least one error, each naming this file, a line and column inside it, and a message.
    static func errorProblems(_ errors: ConfigErrors, bytes: [UInt8]) -> [String] {
        var problems: [String] = []
        if errors.errors.isEmpty { problems.append("rejected without an error") }
        // YAML breaks lines at LF, CR, NEL, LS and PS; count each break byte generously.
        let lines = bytes.reduce(1) { $0 + ($1 == 0x0A || $1 == 0x0D || $1 == 0x85 || $1 == 0xA8 || $1 == 0xA9 ? 1 : 0) } + 1
        for error in errors.errors {
            if error.file != file { problems.append("an error labelled \(error.file), not \(file): \(error)") }
            if error.line < 1 || error.line > lines { problems.append("an error on line \(error.line) of a \(lines - 1)-line file: \(error)") }
            if error.column < 1 || error.column > bytes.count + 1 { problems.append("an error at column \(error.column) of a \(bytes.count)-byte file: \(error)") }
            if error.message.isEmpty { problems.append("an error without a message at \(error.line):\(error.column)") }
        }
        return problems
    }

    /// A loaded table's routes name only its sources and destinations, names and paths are unique, its
    /// warnings and templates render, and it routes the example events without trapping.
    static func tableProblems(_ table: RoutingTable) -> [String] {
        var problems: [String] = []
        let sources = Set(table.sources.map(\.name))
        let destinations = Set(table.destinations.map(\.name))
        if sources.count != table.sources.count { problems.append("two sources with one name") }
        if destinations.count != table.destinations.count { problems.append("two destinations with one name") }
        if Set(table.routes.map(\.name)).count != table.routes.count { problems.append("two routes with one name") }
        let paths = table.sources.map(\.path)
        if Set(paths).count != paths.count { problems.append("two sources on one path") }
        for path in paths where !path.hasPrefix("/") { problems.append("source path \(JSONString.quoted(path)) is not absolute") }
        for route in table.routes {
            for name in route.sources where !sources.contains(name) { problems.append("route \(route.name) listens to unknown source \(name)") }
            for name in route.destinations where !destinations.contains(name) { problems.append("route \(route.name) sends to unknown destination \(name)") }
            if route.destinations.isEmpty { problems.append("route \(route.name) sends nowhere") }
        }
        _ = RoutingTableWarnings.warnings(table)
        for source in table.sources {
            for event in events {
                guard case .object(let fields) = event, case .success(let payload) = PayloadValidator.validate(fields, rules: source.rules) else { continue }
                let plan = FanOut.plan(source: source, fields: payload.fields, table: table)
                for delivery in plan.deliveries where !destinations.contains(delivery.destination) {
                    problems.append("source \(source.name) planned a delivery to unknown destination \(delivery.destination)")
                }
            }
        }
        return problems
    }
}
