// `routes check` and `routes explain`: what an operator runs before shipping a routing-table change.
import Foundation
import RelayCore

package enum RoutesCommands {
    /// Returns the text to print and whether the file is valid.
    package static func check(path: String) -> (output: String, ok: Bool) {
        switch RoutingTableFile.load(path: path) {
        case .failure(let errors):
            let lines = errors.errors.map(\.description)
            return ((lines + ["\(errors.errors.count) error(s) in \(path)"]).joined(separator: "\n"), false)
        case .success(let table):
            return (summary(table, path: path), true)
        }
    }

    static func summary(_ table: RoutingTable, path: String) -> String {
        var lines = ["\(path): OK — \(table.sources.count) source(s), \(table.destinations.count) destination(s), \(table.routes.count) route(s)"]
        for source in table.sources {
            lines.append("  source \(source.name): \(source.kind.rawValue) on POST \(source.path), auth \(source.auth.modeName), max body \(source.maxBodyBytes) bytes")
        }
        for destination in table.destinations {
            switch destination.kind {
            case .kafka(let k): lines.append("  destination \(destination.name): kafka topic \(k.topic) on \(k.brokers)")
            case .http(let h): lines.append("  destination \(destination.name): http \(h.method) \(h.url)")
            }
        }
        for route in table.routes {
            let predicates = route.predicates.isEmpty ? "every event" : "\(route.predicates.count) predicate(s)"
            lines.append("  route \(route.name): \(route.sources.joined(separator: ",")) [\(predicates)] -> \(route.destinations.joined(separator: ", "))\(route.fetchExport ? " (+ fetch export)" : "")")
        }
        lines += RoutingTableWarnings.warnings(table).map { "  warning: \($0)" }
        return lines.joined(separator: "\n")
    }

    /// Shows which routes match `eventPath`'s JSON for the source it names (or the only source of its kind) and what would be sent.
    package static func explain(path: String, eventPath: String, sourceName: String?) -> (output: String, ok: Bool) {
        let table: RoutingTable
        switch RoutingTableFile.load(path: path) {
        case .failure(let errors): return (errors.description, false)
        case .success(let t): table = t
        }
        guard let data = FileManager.default.contents(atPath: eventPath) else { return ("cannot read \(eventPath)", false) }
        let object: [String: JSONValue]
        do { object = try JSONBodyParser.parseObject(Array(data)) } catch { return ("\(eventPath): \(error.reason)", false) }
        let candidates = sourceName.map { name in table.sources.filter { $0.name == name } } ?? table.sources
        var lines: [String] = []
        var anyValid = false
        for source in candidates {
            switch PayloadValidator.validate(object, rules: source.rules) {
            case .failure(let failure):
                if sourceName != nil || candidates.count == 1 {
                    lines.append("source \(source.name): would answer 422")
                    lines += failure.errors.map { "  \($0.field): \($0.reason)" }
                }
            case .success(let payload):
                anyValid = true
                let plan = FanOut.plan(source: source, fields: payload.fields, table: table)
                lines.append("source \(source.name) (POST \(source.path)): valid, dedupe key \(JSONString.quoted(payload.dedupeKey))")
                lines.append("  matched routes: \(plan.matchedRoutes.isEmpty ? "none (event stored, delivered nowhere)" : plan.matchedRoutes.joined(separator: ", "))")
                for delivery in plan.deliveries {
                    let target = table.destination(named: delivery.destination).map(describe) ?? delivery.destination
                    let headers = delivery.headers.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
                    lines.append("  -> \(delivery.destination) [\(target)] key=\(delivery.key.map(JSONString.quoted) ?? "none")\(headers.isEmpty ? "" : " headers: \(headers)") (route \(delivery.route))")
                }
                if let export = plan.export {
                    lines.append("  -> export at \(export.apiURL) fetched and forwarded record by record to \(export.destinations.joined(separator: ", ")) (route \(export.route), executionRef \(export.executionRef))")
                }
            }
        }
        if candidates.isEmpty { lines.append("no source named \(sourceName ?? "")") }
        return (lines.joined(separator: "\n"), anyValid)
    }

    static func describe(_ destination: DestinationConfig) -> String {
        switch destination.kind {
        case .kafka(let k): return "kafka \(k.topic)"
        case .http(let h): return "http \(h.method) \(h.url)"
        }
    }
}
