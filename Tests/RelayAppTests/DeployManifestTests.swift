// deploy/ and routes/ against the relay itself: every YAML file parses, every routing table
// loads, and the ports, probe paths, data and config paths in the Dockerfile, compose file,
// Kubernetes manifests and systemd unit are the ones the relay really uses (issue 17).
// No Docker engine or cluster is needed: the files are read as text and YAML.
import Foundation
import RelayApp
import RelayCore
import Testing
import Yams

@Suite struct DeployManifestTests {
    // MARK: - Every YAML file

    @Test func everyYAMLFileUnderDeployAndRoutesParses() throws {
        let files = try Manifests.yamlFiles(under: ["deploy", "routes"])
        #expect(files.contains("deploy/compose.yaml"))
        #expect(files.contains("deploy/kubernetes/statefulset.yaml"))
        #expect(files.contains("routes/routes.yaml"))
        for file in files {
            do {
                let documents = try Manifests.documents(file)
                #expect(!documents.isEmpty, "\(file): no YAML document")
            } catch {
                Issue.record("\(file): does not parse: \(error)")
            }
        }
    }

    @Test func everyRoutingTableLoads() throws {
        // Every table under routes/, every routes.yaml under deploy/, and the tables the
        // ConfigMaps carry inline (written to a temporary file: RoutingTableFile reads files).
        var tables: [(name: String, path: String)] = []
        for file in try Manifests.yamlFiles(under: ["routes", "deploy"])
        where file.hasPrefix("routes/") || (file as NSString).lastPathComponent == "routes.yaml" {
            tables.append((file, Manifests.url(file).path))
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("deploy-tables-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        for file in try Manifests.yamlFiles(under: ["deploy/kubernetes"]) {
            for configMap in try Manifests.documents(file).filter({ Manifests.kind(of: $0) == "ConfigMap" }) {
                for (key, value) in Manifests.mapping(configMap["data"]) ?? [:] where key.hasSuffix(".yaml") || key.hasSuffix(".yml") {
                    let copy = scratch.appendingPathComponent("\(Manifests.string(configMap["metadata", "name"]) ?? "configmap")-\(key)")
                    let text = try #require(Manifests.string(value), "\(file): data.\(key) is not text")
                    try text.write(to: copy, atomically: true, encoding: .utf8)
                    tables.append(("\(file) (data.\(key))", copy.path))
                }
            }
        }
        #expect(tables.contains { $0.name == "routes/routes.yaml" })
        #expect(tables.contains { $0.name == "deploy/compose/routes.yaml" })
        #expect(tables.contains { $0.name.hasPrefix("deploy/kubernetes/configmap.yaml") })
        for table in tables {
            if case .failure(let errors) = RoutingTableFile.load(path: table.path) {
                Issue.record("\(table.name): routing table does not load:\n\(errors)")
            }
        }
    }

    // MARK: - Kubernetes

    @Test func statefulSetMatchesTheRelayDefaults() throws {
        let file = "deploy/kubernetes/statefulset.yaml"
        let statefulSet = try #require(try Manifests.documents(file).first { Manifests.kind(of: $0) == "StatefulSet" }, "\(file): no StatefulSet")
        #expect(Manifests.int(statefulSet["spec", "replicas"]) == 1, "\(file): the SQLite outbox allows one replica")
        let pod = try #require(Manifests.mapping(statefulSet["spec", "template", "spec"]), "\(file): no pod template")
        let container = try #require(Manifests.container(named: "relay", in: pod), "\(file): no container 'relay'")

        // The listener: named port `http`, RELAY_LISTEN, probes.
        let httpPort = try #require(Manifests.containerPort(named: "http", in: container), "\(file): no container port 'http'")
        #expect(httpPort == ListenAddress.default.port, "\(file): port http is \(httpPort), the relay listens on \(ListenAddress.default.port)")
        let listen = try #require(Manifests.env("RELAY_LISTEN", in: container).flatMap(ListenAddress.init(parsing:)), "\(file): RELAY_LISTEN missing or not host:port")
        #expect(listen.port == httpPort, "\(file): RELAY_LISTEN port \(listen.port) is not container port http (\(httpPort))")
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            #expect(Manifests.string(container[probe, "httpGet", "path"]) == path, "\(file): \(probe) path is not \(path)")
            #expect(Manifests.resolvePort(container[probe, "httpGet", "port"], in: container) == httpPort, "\(file): \(probe) is not on port http (\(httpPort))")
        }

        // The outbox: RELAY_DATA_DIR is a mount of the volumeClaimTemplate of the same name.
        let dataDirectory = try #require(Manifests.env("RELAY_DATA_DIR", in: container), "\(file): RELAY_DATA_DIR not set")
        let dataMount = try #require(Manifests.volumeMount(at: dataDirectory, in: container), "\(file): nothing mounted at RELAY_DATA_DIR \(dataDirectory)")
        let claimNames = Manifests.sequence(statefulSet["spec", "volumeClaimTemplates"]).compactMap { Manifests.string(Manifests.mapping($0)?["metadata", "name"]) }
        #expect(claimNames.contains(Manifests.string(dataMount["name"]) ?? ""), "\(file): the mount at \(dataDirectory) is not one of the volumeClaimTemplates \(claimNames)")
        #expect(Manifests.string(dataMount["name"]) == "data", "\(file): the outbox volume is not named data")

        // The routing table: RELAY_CONFIG lies in a directory mount (no subPath) of the ConfigMap
        // that has that file name as a key.
        let configPath = try #require(Manifests.env("RELAY_CONFIG", in: container), "\(file): RELAY_CONFIG not set")
        let configDirectory = (configPath as NSString).deletingLastPathComponent
        let configMount = try #require(Manifests.volumeMount(at: configDirectory, in: container), "\(file): nothing mounted at \(configDirectory), the directory of RELAY_CONFIG")
        #expect(!configMount.keys.contains("subPath"), "\(file): the routes mount uses subPath, which never sees ConfigMap updates")
        let configVolume = Manifests.sequence(pod["volumes"]).compactMap { Manifests.mapping($0) }.first { Manifests.string($0["name"]) == Manifests.string(configMount["name"]) }
        let configMapName = try #require(Manifests.string(configVolume?["configMap", "name"]), "\(file): the volume at \(configDirectory) is not a ConfigMap")
        let configMaps = try Manifests.documents("deploy/kubernetes/configmap.yaml").filter { Manifests.kind(of: $0) == "ConfigMap" }
        let configMap = try #require(configMaps.first { Manifests.string($0["metadata", "name"]) == configMapName }, "deploy/kubernetes/configmap.yaml: no ConfigMap \(configMapName)")
        let configFileName = (configPath as NSString).lastPathComponent
        let configMapData = Manifests.mapping(configMap["data"]) ?? [:]
        #expect(configMapData.keys.contains(configFileName), "deploy/kubernetes/configmap.yaml: no key \(configFileName) for RELAY_CONFIG \(configPath)")

        // Shutdown: the pod outlives the relay's own drain.
        let grace = Int(ServeOptions().shutdownGracePeriod.components.seconds)
        let podGrace = try #require(Manifests.int(pod["terminationGracePeriodSeconds"]), "\(file): no terminationGracePeriodSeconds")
        #expect(podGrace > grace, "\(file): terminationGracePeriodSeconds \(podGrace) does not exceed the relay's \(grace) s drain")
        #expect(container["securityContext", "runAsNonRoot"] as? Bool == true, "\(file): the container may run as root")
    }

    @Test func serviceTargetsTheRelayPort() throws {
        let statefulSetFile = "deploy/kubernetes/statefulset.yaml", file = "deploy/kubernetes/service.yaml"
        let statefulSet = try #require(try Manifests.documents(statefulSetFile).first { Manifests.kind(of: $0) == "StatefulSet" })
        let container = try #require(Manifests.mapping(statefulSet["spec", "template", "spec"]).flatMap { Manifests.container(named: "relay", in: $0) }, "\(statefulSetFile): no container 'relay'")
        let podLabels = Manifests.mapping(statefulSet["spec", "template", "metadata", "labels"]) ?? [:]
        let services = try Manifests.documents(file).filter { Manifests.kind(of: $0) == "Service" }
        let service = try #require(services.first { Manifests.string($0["spec", "clusterIP"]) != "None" }, "\(file): no ClusterIP Service")
        let targets = Manifests.sequence(service["spec", "ports"]).compactMap { Manifests.resolvePort(Manifests.mapping($0)?["targetPort"], in: container) }
        #expect(targets.contains(ListenAddress.default.port), "\(file): no port targets the relay's listener (\(ListenAddress.default.port)); targets \(targets)")
        for service in services {
            let name = Manifests.string(service["metadata", "name"]) ?? "?"
            for (key, value) in Manifests.mapping(service["spec", "selector"]) ?? [:] {
                #expect(Manifests.string(podLabels[key]) == Manifests.string(value), "\(file): Service \(name) selects \(key)=\(value), which the relay pod does not carry")
            }
        }
        let governing = Manifests.string(statefulSet["spec", "serviceName"])
        #expect(services.contains { Manifests.string($0["metadata", "name"]) == governing }, "\(file): no Service \(governing ?? "nil") (the StatefulSet's serviceName)")
    }

    @Test func kustomizationListsExistingManifests() throws {
        let file = "deploy/kubernetes/kustomization.yaml"
        let kustomization = try #require(try Manifests.documents(file).first)
        let resources = Manifests.sequence(kustomization["resources"]).compactMap { Manifests.string($0) }
        for expected in ["statefulset.yaml", "service.yaml", "configmap.yaml", "poddisruptionbudget.yaml"] {
            #expect(resources.contains(expected), "\(file): does not list \(expected)")
        }
        for resource in resources {
            #expect(FileManager.default.fileExists(atPath: Manifests.url("deploy/kubernetes/\(resource)").path), "\(file): lists \(resource), which does not exist")
        }
    }

    // MARK: - Docker

    @Test func composeRelayPublishesItsPortAndKeepsItsData() throws {
        let file = "deploy/compose.yaml"
        let compose = try #require(try Manifests.documents(file).first)
        let relay = try #require(Manifests.mapping(compose["services", "relay"]), "\(file): no service relay")
        let environment = Manifests.composeEnvironment(relay)

        let listen = try #require(environment["RELAY_LISTEN"].flatMap(ListenAddress.init(parsing:)), "\(file): RELAY_LISTEN missing or not host:port")
        #expect(listen.port == ListenAddress.default.port, "\(file): RELAY_LISTEN port \(listen.port) is not the relay's \(ListenAddress.default.port)")
        let published = Manifests.sequence(relay["ports"]).compactMap { Manifests.composeContainerPort($0) }
        #expect(published.contains(listen.port), "\(file): the relay does not publish its listen port \(listen.port); publishes \(published)")
        if let admin = environment["RELAY_ADMIN_LISTEN"].flatMap(ListenAddress.init(parsing:)) {
            #expect(admin.port == ServeOptions.defaultAdminListen.port, "\(file): RELAY_ADMIN_LISTEN port \(admin.port) is not the relay's \(ServeOptions.defaultAdminListen.port)")
            #expect(published.contains(admin.port), "\(file): the admin port \(admin.port) is not published")
        }

        let mounts = Manifests.sequence(relay["volumes"]).compactMap { Manifests.composeMount($0) }
        let dataDirectory = try #require(environment["RELAY_DATA_DIR"], "\(file): RELAY_DATA_DIR not set")
        let dataMount = try #require(mounts.first { $0.target == dataDirectory }, "\(file): no volume mounted at RELAY_DATA_DIR \(dataDirectory)")
        let namedVolumes = Manifests.mapping(compose["volumes"]) ?? [:]
        #expect(namedVolumes.keys.contains(dataMount.source), "\(file): \(dataDirectory) is not a named volume (source \(dataMount.source))")

        // RELAY_CONFIG lies in a bind-mounted directory that holds that file on the host.
        let configPath = try #require(environment["RELAY_CONFIG"], "\(file): RELAY_CONFIG not set")
        let configDirectory = (configPath as NSString).deletingLastPathComponent
        let configMount = try #require(mounts.first { $0.target == configDirectory }, "\(file): the directory of RELAY_CONFIG (\(configDirectory)) is not mounted")
        let hostFile = Manifests.url("deploy").appendingPathComponent(configMount.source).appendingPathComponent((configPath as NSString).lastPathComponent)
        #expect(FileManager.default.fileExists(atPath: hostFile.path), "\(file): \(configMount.source) does not hold \((configPath as NSString).lastPathComponent)")
    }

    @Test func dockerfileMatchesTheRelayDefaults() throws {
        let file = "deploy/Dockerfile"
        let stage = try Manifests.dockerfileFinalStage(file)
        let environment = stage.filter { $0.keyword == "ENV" }.reduce(into: [String: String]()) { $0.merge(Manifests.dockerEnv($1.arguments)) { _, new in new } }

        let dataDirectory = try #require(environment["RELAY_DATA_DIR"], "\(file): ENV RELAY_DATA_DIR not set")
        let volumes = stage.filter { $0.keyword == "VOLUME" }.flatMap { Manifests.dockerList($0.arguments) }
        #expect(volumes.contains(dataDirectory), "\(file): VOLUME \(volumes) does not hold RELAY_DATA_DIR \(dataDirectory)")

        let listen = try #require(environment["RELAY_LISTEN"].flatMap(ListenAddress.init(parsing:)), "\(file): ENV RELAY_LISTEN missing or not host:port")
        #expect(listen.port == ListenAddress.default.port, "\(file): RELAY_LISTEN port \(listen.port) is not the relay's \(ListenAddress.default.port)")
        let exposed = stage.filter { $0.keyword == "EXPOSE" }.flatMap { Manifests.dockerList($0.arguments) }
            .compactMap { Int($0.split(separator: "/").first ?? "") }
        #expect(exposed.contains(ListenAddress.default.port), "\(file): does not EXPOSE \(ListenAddress.default.port)")
        #expect(exposed.contains(ServeOptions.defaultAdminListen.port), "\(file): does not EXPOSE the admin port \(ServeOptions.defaultAdminListen.port)")

        let healthcheck = try #require(stage.last { $0.keyword == "HEALTHCHECK" }, "\(file): no HEALTHCHECK")
        let probe = Manifests.dockerList(healthcheck.arguments).compactMap { URL(string: $0) }.first { $0.path == "/healthz" }
        #expect(probe != nil, "\(file): HEALTHCHECK does not request /healthz")
        #expect(probe?.port == listen.port, "\(file): HEALTHCHECK is not on the listen port \(listen.port)")

        let user = try #require(stage.last { $0.keyword == "USER" }, "\(file): no USER in the final stage (runs as root)")
        let name = user.arguments.split(separator: ":").first.map(String.init) ?? ""
        #expect(!["", "root", "0"].contains(name), "\(file): USER \(user.arguments) is root")

        let configPath = try #require(environment["RELAY_CONFIG"], "\(file): ENV RELAY_CONFIG not set")
        #expect(stage.contains { $0.keyword == "COPY" && Manifests.dockerList($0.arguments).last == configPath }, "\(file): nothing is copied to RELAY_CONFIG \(configPath)")
    }

    // MARK: - systemd

    @Test func systemdUnitReloadsWithHUPAndKeepsTheOutboxInItsStateDirectory() throws {
        let file = "deploy/systemd/audience-relay.service"
        let unit = try Manifests.systemdUnit(file)
        let reload = unit["ExecReload"]?.last ?? ""
        #expect(reload.contains("kill") && (reload.contains("-HUP") || reload.contains("SIGHUP")) && reload.contains("$MAINPID"), "\(file): ExecReload does not send SIGHUP to the relay: \(reload)")

        let start = (unit["ExecStart"]?.last ?? "").split(separator: " ").map(String.init)
        #expect(start.dropFirst().first == "serve", "\(file): ExecStart does not run `serve`")
        let dataDirectory = start.firstIndex(of: "--data-dir").flatMap { start.indices.contains($0 + 1) ? start[$0 + 1] : nil }
        let stateDirectory = try #require(unit["StateDirectory"]?.last, "\(file): no StateDirectory")
        #expect(dataDirectory == "/var/lib/\(stateDirectory)", "\(file): --data-dir \(dataDirectory ?? "nil") is not the StateDirectory /var/lib/\(stateDirectory)")

        let grace = Int(ServeOptions().shutdownGracePeriod.components.seconds)
        let stopTimeout = (unit["TimeoutStopSec"]?.last).flatMap { Int($0.hasSuffix("s") ? String($0.dropLast()) : $0) }
        #expect((stopTimeout ?? 0) > grace, "\(file): TimeoutStopSec does not exceed the relay's \(grace) s drain")
    }
}

// MARK: - Helpers

/// Reading the files of deploy/ and routes/: YAML through Yams (as plain dictionaries, arrays
/// and scalars), the Dockerfile and the systemd unit as text.
enum Manifests {
    typealias Mapping = [String: Any]

    static func url(_ relativePath: String) -> URL {
        RelayBinary.repositoryRoot.appendingPathComponent(relativePath)
    }

    /// Repository-relative paths of every .yaml/.yml file below the given folders, sorted.
    static func yamlFiles(under folders: [String]) throws -> [String] {
        var files: [String] = []
        for folder in folders {
            let paths = try FileManager.default.subpathsOfDirectory(atPath: url(folder).path)
            files += paths.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.map { "\(folder)/\($0)" }
        }
        return Array(Set(files)).sorted()
    }

    /// Every YAML document of a file, each as a Mapping when it is one. A parse error anywhere
    /// in the file throws (YamlSequence keeps the error instead of throwing it).
    static func documents(_ relativePath: String) throws -> [Mapping] {
        let text = try String(contentsOf: url(relativePath), encoding: .utf8)
        var parsed = try Yams.load_all(yaml: text)
        var documents: [Mapping] = []
        while let document = parsed.next() {
            documents.append(mapping(document) ?? [:])
        }
        if let error = parsed.error { throw error }
        return documents
    }

    /// Yams gives `[AnyHashable: Any]` for a mapping; this keys it by String.
    static func mapping(_ value: Any?) -> Mapping? {
        guard let dictionary = value as? [AnyHashable: Any] else { return value as? Mapping }
        var result: Mapping = [:]
        for (key, element) in dictionary {
            if let key = key.base as? String { result[key] = element } else { result["\(key.base)"] = element }
        }
        return result
    }

    static func sequence(_ value: Any?) -> [Any] { value as? [Any] ?? [] }

    /// A scalar as text (YAML may have made a number or a boolean of it).
    static func string(_ value: Any?) -> String? {
        switch value {
        case let text as String: return text
        case let number as Int: return String(number)
        case let flag as Bool: return String(flag)
        case let number as Double: return String(number)
        default: return nil
        }
    }

    static func int(_ value: Any?) -> Int? {
        if let number = value as? Int { return number }
        return string(value).flatMap { Int($0) }
    }

    static func kind(of document: Mapping) -> String? { string(document["kind"]) }

    // Kubernetes

    static func container(named name: String, in podSpec: Mapping) -> Mapping? {
        sequence(podSpec["containers"]).compactMap { mapping($0) }.first { string($0["name"]) == name }
    }

    /// The value of an env entry given as `value:` (nil when absent or taken from a reference).
    static func env(_ name: String, in container: Mapping) -> String? {
        let entry = sequence(container["env"]).compactMap { mapping($0) }.first { string($0["name"]) == name }
        return string(entry?["value"])
    }

    static func containerPort(named name: String, in container: Mapping) -> Int? {
        let port = sequence(container["ports"]).compactMap { mapping($0) }.first { string($0["name"]) == name }
        return int(port?["containerPort"])
    }

    /// A probe's or Service's port: a number, or the name of one of the container's ports.
    static func resolvePort(_ value: Any?, in container: Mapping) -> Int? {
        if let number = value as? Int { return number }
        guard let text = string(value) else { return nil }
        return Int(text) ?? containerPort(named: text, in: container)
    }

    static func volumeMount(at path: String, in container: Mapping) -> Mapping? {
        sequence(container["volumeMounts"]).compactMap { mapping($0) }.first { string($0["mountPath"]) == path }
    }

    // Compose

    /// `environment:` as a mapping or as a list of NAME=value.
    static func composeEnvironment(_ service: Mapping) -> [String: String] {
        if let entries = mapping(service["environment"]) {
            return entries.reduce(into: [:]) { result, entry in result[entry.key] = string(entry.value) }
        }
        return sequence(service["environment"]).compactMap { string($0) }.reduce(into: [:]) { result, entry in
            let parts = entry.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
    }

    /// The container side of a `ports:` entry: "8080", "8080:8080", "127.0.0.1:8080:8080/tcp" or {target: 8080}.
    static func composeContainerPort(_ entry: Any) -> Int? {
        if let long = mapping(entry) { return int(long["target"]) }
        guard let short = string(entry) else { return nil }
        let withoutProtocol = short.split(separator: "/").first.map(String.init) ?? short
        return withoutProtocol.split(separator: ":").last.flatMap { Int($0) }
    }

    /// A `volumes:` entry of a service: "source:target[:mode]" or {source, target}.
    static func composeMount(_ entry: Any) -> (source: String, target: String)? {
        if let long = mapping(entry), let target = string(long["target"]) {
            return (string(long["source"]) ?? "", target)
        }
        let parts = (string(entry) ?? "").split(separator: ":").map(String.init)
        return parts.count >= 2 ? (parts[0], parts[1]) : nil
    }

    // Dockerfile

    struct Instruction { var keyword: String; var arguments: String }

    /// The instructions after the last FROM, continuation lines joined, comments dropped.
    static func dockerfileFinalStage(_ relativePath: String) throws -> [Instruction] {
        let text = try String(contentsOf: url(relativePath), encoding: .utf8)
        var instructions: [Instruction] = []
        var pending = ""
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || (line.isEmpty && pending.isEmpty) { continue }
            if line.hasSuffix("\\") {
                pending += String(line.dropLast()) + " "
                continue
            }
            let whole = (pending + line).trimmingCharacters(in: .whitespaces)
            pending = ""
            guard !whole.isEmpty else { continue }
            let keyword = whole.prefix { !$0.isWhitespace }
            instructions.append(Instruction(keyword: keyword.uppercased(),
                                            arguments: whole.dropFirst(keyword.count).trimmingCharacters(in: .whitespaces)))
        }
        let lastFrom = try #require(instructions.lastIndex { $0.keyword == "FROM" }, "\(relativePath): no FROM")
        return Array(instructions[(lastFrom + 1)...])
    }

    /// `ENV A=1 B=2` (or the old `ENV A 1`).
    static func dockerEnv(_ arguments: String) -> [String: String] {
        let words = arguments.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let first = words.first else { return [:] }
        if !first.contains("=") { return [first: words.dropFirst().joined(separator: " ")] }
        return words.reduce(into: [:]) { result, word in
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
    }

    /// The words of an instruction, in shell form (`A B`) or exec form (`["A", "B"]`), options included.
    static func dockerList(_ arguments: String) -> [String] {
        if let start = arguments.firstIndex(of: "["), arguments.hasSuffix("]"),
           let words = try? JSONDecoder().decode([String].self, from: Data(arguments[start...].utf8)) {
            return arguments[..<start].split(whereSeparator: \.isWhitespace).map(String.init) + words
        }
        return arguments.split(whereSeparator: \.isWhitespace).map(String.init)
    }

    // systemd

    /// Every `Key=Value` of a unit file (all sections), values in order of appearance.
    static func systemdUnit(_ relativePath: String) throws -> [String: [String]] {
        let text = try String(contentsOf: url(relativePath), encoding: .utf8)
        var settings: [String: [String]] = [:]
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            guard !line.hasPrefix("#"), !line.hasPrefix(";"), !line.hasPrefix("["), let equals = line.firstIndex(of: "=") else { continue }
            settings[String(line[..<equals]), default: []].append(String(line[line.index(after: equals)...]))
        }
        return settings
    }
}

private extension Dictionary where Key == String, Value == Any {
    /// `document["spec", "template", "spec"]`: a path of two or more keys through nested
    /// mappings (one key is the Dictionary's own subscript).
    subscript(first: String, second: String, rest: String...) -> Any? {
        var value: Any? = Manifests.mapping(self[first])?[second]
        for key in rest { value = Manifests.mapping(value)?[key] }
        return value
    }
}
