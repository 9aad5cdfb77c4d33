// Parses, validates and resolves a routing-table YAML document into a RoutingTable, collecting every error.
import Foundation
import Yams

package enum RoutingTableLoader {
    static let topLevelKeys: Set<String> = ["version", "sources", "destinations", "routes"]
    static let reservedPaths: Set<String> = ["/healthz", "/readyz", "/metrics"]

    /// The bytes of a routing-table file, as `routes check`, `serve` and a reload read them. `file` only labels errors.
    package static func load(contents: Data, file: String) -> Result<RoutingTable, ConfigErrors> {
        guard let text = String(data: contents, encoding: .utf8) else {
            return .failure(ConfigErrors([ConfigError(file: file, line: 1, column: 1, message: "file is not valid UTF-8")]))
        }
        return load(yaml: text, file: file)
    }

    /// `file` is only used to label errors.
    package static func load(yaml: String, file: String) -> Result<RoutingTable, ConfigErrors> {
        let reader = YAMLReader(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            return .failure(ConfigErrors([syntaxError(error, file: file)]))
        } catch {
            return .failure(ConfigErrors([ConfigError(file: file, line: 1, column: 1, message: "cannot parse YAML: \(error)")]))
        }
        guard let root else {
            return .failure(ConfigErrors([ConfigError(file: file, line: 1, column: 1, message: "file is empty; expected sources, destinations and routes")]))
        }
        guard let top = reader.fields(root, "routing table", allowed: topLevelKeys, required: ["sources", "destinations", "routes"]) else {
            return .failure(ConfigErrors(reader.errors))
        }
        if let version = top["version"], let v = reader.int(version, "version"), v != 1 {
            reader.error(at: version, "version: only version 1 is supported (got \(v))")
        }
        let (sources, sourceNames) = top["sources"].map { SourceLoader.load($0, reader: reader) } ?? ([], [])
        let (destinations, destinationNames) = top["destinations"].map { DestinationLoader.load($0, reader: reader) } ?? ([], [])
        let routes = top["routes"].map {
            loadRoutes($0, reader: reader, sources: sourceNames, destinations: destinationNames)
        } ?? []
        checkExportRoutes(routes, sources: sources, routesNode: top["routes"], reader: reader)
        if reader.errors.isEmpty {
            return .success(RoutingTable(sources: sources, destinations: destinations, routes: routes))
        }
        return .failure(ConfigErrors(reader.errors))
    }

    private static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ConfigError(file: file, line: mark.line, column: mark.column, message: "YAML syntax error: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let mark = context.mark
            return ConfigError(file: file, line: mark.line, column: mark.column,
                               message: "duplicate keys in mapping: \(duplicates.joined(separator: ", "))")
        default:
            return ConfigError(file: file, line: 1, column: 1, message: "YAML error: \(error)")
        }
    }

    static let routeKeys: Set<String> = ["name", "source", "match", "to", "key", "headers", "fetchExport", "export"]
    static let predicateKeys: Set<String> = ["field", "equals", "in", "prefix", "regex", "exists"]

    private static func loadRoutes(_ node: Node, reader: YAMLReader, sources: Set<String>, destinations: Set<String>) -> [Route] {
        guard case .sequence(let sequence) = node else {
            reader.error(at: node, "routes must be a list")
            return []
        }
        var names = Set<String>()
        var routes: [Route] = []
        for (index, item) in sequence.enumerated() {
            let context = "routes[\(index)]"
            guard let f = reader.fields(item, context, allowed: routeKeys, required: ["name", "source", "to"]) else { continue }
            let name = reader.string(f["name"], "\(context).name") ?? "#\(index)"
            if f["name"] != nil, !names.insert(name).inserted {
                reader.error(at: f["name"], "\(context).name: duplicate route name '\(name)'")
            }
            let ctx = "route '\(name)'"
            let routeSources = reader.stringList(f["source"], "\(ctx).source") ?? []
            for (i, s) in routeSources.enumerated() where !sources.contains(s) {
                reader.error(at: reader.item(f["source"], i), "\(ctx).source: unknown source '\(s)' (defined: \(sources.sorted().joined(separator: ", ")))")
            }
            let targets = reader.stringList(f["to"], "\(ctx).to") ?? []
            if f["to"] != nil, targets.isEmpty { reader.error(at: f["to"], "\(ctx).to: name at least one destination") }
            for (i, d) in targets.enumerated() where !destinations.contains(d) {
                reader.error(at: reader.item(f["to"], i), "\(ctx).to: unknown destination '\(d)' (defined: \(destinations.sorted().joined(separator: ", ")))")
            }
            let predicates = f["match"].map { loadPredicates($0, reader: reader, context: "\(ctx).match") } ?? []
            let headers = (reader.stringMap(f["headers"], "\(ctx).headers") ?? []).compactMap { entry -> (name: String, value: Template)? in
                reader.template(entry.node, "\(ctx).headers.\(entry.name)").map { (entry.name, $0) }
            }
            let fetchExport = reader.bool(f["fetchExport"], "\(ctx).fetchExport") ?? false
            if f["export"] != nil, !fetchExport {
                reader.error(at: f["export"], "\(ctx).export applies only with fetchExport: true")
            }
            let export = f["export"].map { ExportSettingsLoader.loadRoute($0, reader: reader, context: "\(ctx).export") }
            routes.append(Route(
                name: name, sources: routeSources, predicates: predicates, destinations: targets,
                key: reader.template(f["key"], "\(ctx).key"), headers: headers,
                fetchExport: fetchExport, export: export ?? ExportForwarding()))
        }
        return routes
    }

    /// A route that fetches exports needs sources that have an `apiUrl` and an `export:` section.
    private static func checkExportRoutes(_ routes: [Route], sources: [SourceConfig], routesNode: Node?, reader: YAMLReader) {
        guard case .sequence(let items)? = routesNode else { return }
        for (index, route) in routes.enumerated() where route.fetchExport {
            let node = routes.count == items.count ? items[index] : routesNode
            for name in route.sources {
                guard let source = sources.first(where: { $0.name == name }) else { continue }
                if source.kind != .sitecoreExport {
                    reader.error(at: node, "route '\(route.name)': fetchExport needs sources whose events carry apiUrl (kind sitecore-export); '\(name)' is \(source.kind.rawValue)")
                } else if source.export == nil {
                    reader.error(at: node, "route '\(route.name)': fetchExport needs an export: section (allowHosts, credentials) on source '\(name)'")
                }
            }
        }
    }

    private static func loadPredicates(_ node: Node, reader: YAMLReader, context: String) -> [Predicate] {
        guard case .sequence(let sequence) = node else {
            reader.error(at: node, "\(context) must be a list of predicates ({field, equals|in|prefix|regex|exists})")
            return []
        }
        var predicates: [Predicate] = []
        for (index, item) in sequence.enumerated() {
            let ctx = "\(context)[\(index)]"
            guard let f = reader.fields(item, ctx, allowed: predicateKeys, required: ["field"]) else { continue }
            let tests = ["equals", "in", "prefix", "regex", "exists"].filter { f[$0] != nil }
            guard tests.count == 1 else {
                reader.error(at: item, "\(ctx): give exactly one of equals, in, prefix, regex, exists (got \(tests.isEmpty ? "none" : tests.joined(separator: ", ")))")
                continue
            }
            guard let fieldText = reader.string(f["field"], "\(ctx).field") else { continue }
            let field = FieldPath(fieldText)
            guard field.isWellFormed else {
                reader.error(at: f["field"], "\(ctx).field: '\(fieldText)' is not a field path (use name or name.sub)")
                continue
            }
            let test: Predicate.Test?
            switch tests[0] {
            case "equals": test = reader.string(f["equals"], "\(ctx).equals", allowEmpty: true).map { .equals($0) }
            case "in": test = reader.stringList(f["in"], "\(ctx).in").map { .oneOf($0) }
            case "prefix": test = reader.string(f["prefix"], "\(ctx).prefix").map { .prefix($0) }
            case "regex":
                if let pattern = reader.string(f["regex"], "\(ctx).regex") {
                    do { test = .regex(try CompiledRegex(pattern)) } catch {
                        reader.error(at: f["regex"], "\(ctx).regex: invalid regular expression '\(pattern)'")
                        test = nil
                    }
                } else { test = nil }
            default: test = reader.bool(f["exists"], "\(ctx).exists").map { .exists($0) }
            }
            if let test { predicates.append(Predicate(field: field, test: test)) }
        }
        return predicates
    }
}
