// Reads the `export:` sections: a source's fetch settings and a route's forwarding options.
import Yams

enum ExportSettingsLoader {
    static let sourceKeys: Set<String> = ["credentials", "allowHosts", "allowPlainHTTP", "allowPrivateAddresses",
                                          "maxFileBytes", "maxRedirects", "pollDeadline", "pollInitialDelay",
                                          "pollMaxDelay", "caFile", "stallTimeout"]
    static let credentialKeys: Set<String> = ["type", "token", "username", "password", "tokenUrl", "clientId",
                                              "clientSecret", "scope", "extraParams"]
    static let routeKeys: Set<String> = ["format", "key", "onMalformed", "batchRecords", "batchBytes", "csv"]
    static let csvKeys: Set<String> = ["delimiter", "header", "columns"]

    static func loadSource(_ node: Node, reader: YAMLReader, context: String) -> ExportSourceSettings? {
        guard let f = reader.fields(node, context, allowed: sourceKeys, required: ["allowHosts"]) else { return nil }
        let hosts = reader.stringList(f["allowHosts"], "\(context).allowHosts") ?? []
        if f["allowHosts"] != nil, hosts.isEmpty {
            reader.error(at: f["allowHosts"], "\(context).allowHosts must name at least one host (exact, or *.domain)")
        }
        for host in hosts where !isHostPattern(host) {
            reader.error(at: f["allowHosts"], "\(context).allowHosts: '\(host)' is not a host name or *.domain pattern")
        }
        let plain = reader.stringList(f["allowPlainHTTP"], "\(context).allowPlainHTTP") ?? []
        let privateHosts = reader.stringList(f["allowPrivateAddresses"], "\(context).allowPrivateAddresses") ?? []
        for (key, list) in [("allowPlainHTTP", plain), ("allowPrivateAddresses", privateHosts)] {
            for host in list where !hosts.contains(host) {
                reader.error(at: f[key], "\(context).\(key): '\(host)' must also be listed in allowHosts")
            }
        }
        var settings = ExportSourceSettings(allowHosts: hosts, allowPlainHTTP: plain, allowPrivateAddresses: privateHosts)
        if let node = f["credentials"] {
            guard let credentials = loadCredentials(node, reader: reader, context: "\(context).credentials") else { return nil }
            settings.credentials = credentials
        }
        if let v = reader.byteSize(f["maxFileBytes"], "\(context).maxFileBytes") { settings.maxFileBytes = v }
        if let v = reader.int(f["maxRedirects"], "\(context).maxRedirects", min: 0, max: 20) { settings.maxRedirects = v }
        reader.durations(f, context, into: &settings,
                         ["pollDeadline": \.pollDeadline, "pollInitialDelay": \.pollInitialDelay,
                          "pollMaxDelay": \.pollMaxDelay, "stallTimeout": \.stallTimeout],
                         range: ("pollInitialDelay", "pollMaxDelay"), of: node)
        settings.caFile = reader.string(f["caFile"], "\(context).caFile")
        if settings.pollInitialDelay <= .zero {
            reader.error(at: f["pollInitialDelay"] ?? node, "\(context).pollInitialDelay must be longer than zero")
        }
        if settings.stallTimeout <= .zero {
            reader.error(at: f["stallTimeout"] ?? node, "\(context).stallTimeout must be longer than zero")
        }
        return settings
    }

    private static func loadCredentials(_ node: Node, reader: YAMLReader, context: String) -> ExportCredentials? {
        guard let f = reader.fields(node, context, allowed: credentialKeys, required: ["type"]),
              let type = reader.string(f["type"], "\(context).type") else { return nil }
        func only(_ allowed: Set<String>, required: [String]) -> Bool {
            for key in f.keys.sorted() where key != "type" && !allowed.contains(key) {
                reader.error(at: f[key], "\(context): '\(key)' does not apply to credentials type '\(type)'")
            }
            let missing = required.filter { f[$0] == nil }
            if !missing.isEmpty {
                reader.error(at: node, "\(context): credentials type '\(type)' needs \(missing.joined(separator: ", "))")
            }
            return missing.isEmpty
        }
        switch type {
        case "none":
            return only([], required: []) ? ExportCredentials.none : nil
        case "bearer":
            guard only(["token"], required: ["token"]) else { return nil }
            return reader.secret(f["token"], "\(context).token").map { .bearer(token: $0) }
        case "basic":
            guard only(["username", "password"], required: ["username", "password"]),
                  let user = reader.string(f["username"], "\(context).username"),
                  let password = reader.secret(f["password"], "\(context).password") else { return nil }
            return .basic(username: user, password: password)
        case "oauth2":
            guard only(["tokenUrl", "clientId", "clientSecret", "scope", "extraParams"], required: ["tokenUrl", "clientId", "clientSecret"]),
                  let url = reader.string(f["tokenUrl"], "\(context).tokenUrl"),
                  let client = reader.string(f["clientId"], "\(context).clientId"),
                  let secret = reader.secret(f["clientSecret"], "\(context).clientSecret") else { return nil }
            guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
                reader.error(at: f["tokenUrl"], "\(context).tokenUrl must be an absolute https URL (got '\(url)')")
                return nil
            }
            let scope = reader.string(f["scope"], "\(context).scope")
            var extra: [OAuth2ClientCredentials.Parameter] = []
            for entry in reader.stringMap(f["extraParams"], "\(context).extraParams") ?? [] {
                if OAuth2ClientCredentials.reservedParameters.contains(entry.name) {
                    reader.error(at: entry.node, "\(context).extraParams: '\(entry.name)' is set by the relay"
                        + (entry.name == "scope" ? " (use credentials.scope)" : "") + "; name other form fields only")
                } else {
                    extra.append(OAuth2ClientCredentials.Parameter(name: entry.name, value: entry.value))
                }
            }
            return .oauth2(OAuth2ClientCredentials(tokenURL: url, clientID: client, clientSecret: secret, scope: scope,
                                                   extraParameters: extra))
        default:
            reader.error(at: f["type"], "\(context).type: unknown credentials type '\(type)' (allowed: none, bearer, basic, oauth2)")
            return nil
        }
    }

    static func loadRoute(_ node: Node, reader: YAMLReader, context: String) -> ExportForwarding {
        var forwarding = ExportForwarding()
        guard let f = reader.fields(node, context, allowed: routeKeys) else { return forwarding }
        if let name = reader.string(f["format"], "\(context).format") {
            forwarding.format = ExportFormat(rawValue: name)
            if forwarding.format == nil {
                reader.error(at: f["format"], "\(context).format: unknown format '\(name)' (allowed: \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        forwarding.key = reader.template(f["key"], "\(context).key")
        if let policy = reader.string(f["onMalformed"], "\(context).onMalformed") {
            if let value = ExportForwarding.MalformedPolicy(rawValue: policy) {
                forwarding.onMalformed = value
            } else {
                reader.error(at: f["onMalformed"], "\(context).onMalformed: must be skip or fail (got '\(policy)')")
            }
        }
        if let v = reader.int(f["batchRecords"], "\(context).batchRecords", min: 1, max: 100_000) { forwarding.batchRecords = v }
        if let v = reader.byteSize(f["batchBytes"], "\(context).batchBytes") { forwarding.batchBytes = v }
        if let node = f["csv"] {
            forwarding.csv = loadCSV(node, reader: reader, context: "\(context).csv")
            // The section says the files are CSV; it contradicts any other format.
            switch forwarding.format {
            case nil: forwarding.format = .csv
            case .csv?: break
            case let other?:
                reader.error(at: node, "\(context).csv applies only to CSV exports (format is \(other.rawValue))")
            }
        }
        return forwarding
    }

    /// `{delimiter: "|", header: false, columns: [id, email]}`: every value checked, each mistake at its line.
    private static func loadCSV(_ node: Node, reader: YAMLReader, context: String) -> ExportCSVOptions {
        var options = ExportCSVOptions()
        guard let f = reader.fields(node, context, allowed: csvKeys) else { return options }
        if let text = reader.string(f["delimiter"], "\(context).delimiter") {
            if let byte = ExportCSVOptions.delimiters[text] {
                options.delimiter = byte
            } else {
                reader.error(at: f["delimiter"], "\(context).delimiter must be one of ',' ';' '|' or tab (got \(JSONString.quoted(text)))")
            }
        }
        if let header = reader.bool(f["header"], "\(context).header") { options.header = header }
        let columns = reader.stringList(f["columns"], "\(context).columns")
        if options.header {
            if f["columns"] != nil {
                reader.error(at: f["columns"], "\(context).columns applies only with header: false (a header row names the columns)")
            }
            return options
        }
        guard let columns, !columns.isEmpty else {
            if f["columns"] == nil || columns != nil {
                reader.error(at: f["columns"] ?? f["header"] ?? node, "\(context): header: false needs columns: [name, ...] naming every field in order")
            }
            return options
        }
        var seen = Set<String>()
        for name in columns where !seen.insert(name).inserted {
            reader.error(at: f["columns"], "\(context).columns names \(JSONString.quoted(name)) twice")
        }
        options.columns = columns
        return options
    }

    /// `host.name`, `*.domain` or an IP literal: letters, digits, '-', '.', ':' (IPv6) only.
    private static func isHostPattern(_ text: String) -> Bool {
        let host = text.hasPrefix("*.") ? String(text.dropFirst(2)) : text
        return !host.isEmpty && host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-.:".contains($0)) }
    }
}
