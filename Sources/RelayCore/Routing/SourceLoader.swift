// Reads the `sources` section: inbound endpoints, their auth and validation overrides.
import Yams

enum SourceLoader {
    static let keys: Set<String> = ["kind", "path", "auth", "maxBodyBytes", "enums", "required", "friendlyIdMaxLength", "dedupeKey", "export"]
    static let authKeys: Set<String> = ["type", "username", "password", "token", "secrets", "tolerance"]

    /// The valid sources, and every declared name (so routes naming a broken source get no second error).
    static func load(_ node: Node, reader: YAMLReader) -> (sources: [SourceConfig], declared: Set<String>) {
        var paths: [String: String] = [:]
        var sources: [SourceConfig] = []
        let entries = reader.namedEntries(node, "sources")
        for entry in entries {
            let ctx = "source '\(entry.name)'"
            guard let f = reader.fields(entry.value, ctx, allowed: keys, required: ["kind", "path"]) else { continue }
            var kind: SourceKind?
            if let text = reader.string(f["kind"], "\(ctx).kind") {
                kind = SourceKind(rawValue: text)
                if kind == nil {
                    reader.error(at: f["kind"], "\(ctx).kind: unknown kind '\(text)' (allowed: \(SourceKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
            }
            let path = reader.string(f["path"], "\(ctx).path")
            if let path {
                if !path.hasPrefix("/") || path.contains(" ") || path.contains("?") {
                    reader.error(at: f["path"], "\(ctx).path must be an absolute URL path such as /hooks/sitecore (got '\(path)')")
                } else if RoutingTableLoader.reservedPaths.contains(path) {
                    reader.error(at: f["path"], "\(ctx).path '\(path)' is reserved for operations endpoints")
                } else if let other = paths[path] {
                    reader.error(at: f["path"], "\(ctx).path '\(path)' is already used by source '\(other)'")
                } else {
                    paths[path] = entry.name
                }
            }
            let auth = f["auth"].flatMap { loadAuth($0, reader: reader, context: "\(ctx).auth") } ?? .none
            let maxBody = reader.byteSize(f["maxBodyBytes"], "\(ctx).maxBodyBytes") ?? SourceConfig.defaultMaxBodyBytes
            let friendlyMax = reader.int(f["friendlyIdMaxLength"], "\(ctx).friendlyIdMaxLength", min: 1, max: 4096)
                ?? PayloadRules.defaultFriendlyIdMaxLength
            guard let kind, let path else { continue }
            let enums = loadEnums(f["enums"], kind: kind, reader: reader, context: "\(ctx).enums")
            let required = reader.stringList(f["required"], "\(ctx).required")
            for (i, field) in (required ?? []).enumerated() where !kind.knownFields.contains(field) {
                reader.error(at: reader.item(f["required"], i), "\(ctx).required: '\(field)' is not a field of \(kind.rawValue) payloads")
            }
            let dedupe = reader.stringList(f["dedupeKey"], "\(ctx).dedupeKey")
            if let dedupe, dedupe.isEmpty { reader.error(at: f["dedupeKey"], "\(ctx).dedupeKey must name at least one field") }
            let rules = PayloadRules(kind: kind, enumOverrides: enums, requiredFields: required,
                                     friendlyIdMaxLength: friendlyMax, dedupeFields: dedupe)
            let export = f["export"].flatMap { ExportSettingsLoader.loadSource($0, reader: reader, context: "\(ctx).export") }
            sources.append(SourceConfig(name: entry.name, path: path, rules: rules, auth: auth, maxBodyBytes: maxBody, export: export))
        }
        return (sources, Set(entries.map(\.name)))
    }

    private static func loadEnums(_ node: Node?, kind: SourceKind, reader: YAMLReader, context: String) -> [String: [String]] {
        guard let node else { return [:] }
        var result: [String: [String]] = [:]
        for entry in reader.namedEntries(node, context) {
            guard kind.defaultEnums[entry.name] != nil else {
                reader.error(at: entry.key, "\(context): '\(entry.name)' is not an enum field of \(kind.rawValue) (enum fields: \(kind.defaultEnums.keys.sorted().joined(separator: ", ")))")
                continue
            }
            guard let values = reader.stringList(entry.value, "\(context).\(entry.name)") else { continue }
            if values.isEmpty { reader.error(at: entry.value, "\(context).\(entry.name) must list at least one value") }
            for value in values where value != value.uppercased() {
                reader.error(at: entry.value, "\(context).\(entry.name): enum values must be uppercase (got '\(value)')")
            }
            result[entry.name] = values
        }
        return result
    }

    private static func loadAuth(_ node: Node, reader: YAMLReader, context: String) -> AuthConfig? {
        guard let f = reader.fields(node, context, allowed: authKeys, required: ["type"]) else { return nil }
        guard let type = reader.string(f["type"], "\(context).type") else { return nil }
        func only(_ allowed: Set<String>) {
            for key in f.keys.sorted() where key != "type" && !allowed.contains(key) {
                reader.error(at: f[key], "\(context): '\(key)' does not apply to auth type '\(type)'")
            }
        }
        switch type {
        case "none":
            only([])
            return AuthConfig.none
        case "basic":
            only(["username", "password"])
            guard f["username"] != nil, f["password"] != nil else {
                reader.error(at: node, "\(context): basic auth needs username and password")
                return nil
            }
            guard let user = reader.string(f["username"], "\(context).username"),
                  let password = reader.secret(f["password"], "\(context).password") else { return nil }
            return .basic(username: user, password: password)
        case "bearer":
            only(["token"])
            guard f["token"] != nil else {
                reader.error(at: node, "\(context): bearer auth needs token")
                return nil
            }
            return reader.secret(f["token"], "\(context).token").map { .bearer(token: $0) }
        case "standard-webhooks":
            only(["secrets", "tolerance"])
            guard let list = reader.stringList(f["secrets"], "\(context).secrets"), !list.isEmpty else {
                reader.error(at: f["secrets"] ?? node, "\(context): standard-webhooks auth needs secrets (a list of env:/file: references)")
                return nil
            }
            var secrets: [SecretReference] = []
            for (i, text) in list.enumerated() {
                do { secrets.append(try SecretReference(parsing: text)) } catch {
                    reader.error(at: reader.item(f["secrets"], i), "\(context).secrets[\(i)]: \(error.message)")
                }
            }
            let tolerance = reader.duration(f["tolerance"], "\(context).tolerance") ?? AuthConfig.defaultTimestampTolerance
            return secrets.count == list.count ? .standardWebhooks(secrets: secrets, tolerance: tolerance) : nil
        default:
            reader.error(at: f["type"], "\(context).type: unknown auth type '\(type)' (allowed: none, basic, bearer, standard-webhooks)")
            return nil
        }
    }
}
