// Loads the routing table from disk and reads the secrets it references, reporting every problem.
import Foundation
import RelayCore
import RelayHTTP

package enum RoutingTableFile {
    /// Parse and validate only (what `routes check` reports). Secrets are not read.
    package static func load(path: String) -> Result<RoutingTable, ConfigErrors> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(ConfigErrors([ConfigError(file: path, line: 1, column: 1, message: "cannot read file (missing or unreadable)")]))
        }
        return RoutingTableLoader.load(contents: data, file: path)
    }

    /// Load, validate and resolve secrets: what `serve` runs with.
    package static func loadSnapshot(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RoutingSnapshot {
        let table = try load(path: path).get()
        var auth: [String: ResolvedAuth] = [:]
        var problems: [String] = []
        for source in table.sources {
            do {
                auth[source.name] = try SecretResolver(environment: environment).resolve(source.auth)
            } catch {
                problems.append("\(path): source '\(source.name)': \(error.message)")
            }
        }
        for source in table.sources {
            for secret in source.export.map(Self.secrets(of:)) ?? [] {
                do { _ = try SecretResolver(environment: environment).read(secret) } catch {
                    problems.append("\(path): source '\(source.name)' export credentials: \(error.message)")
                }
            }
        }
        for destination in table.destinations {
            if case .http(let http) = destination.kind, let secret = http.signingSecret {
                do { _ = try SecretResolver(environment: environment).read(secret) } catch {
                    problems.append("\(path): destination '\(destination.name)': \(error.message)")
                }
            }
        }
        if !problems.isEmpty { throw SecretProblems(messages: problems) }
        return RoutingSnapshot(table: table, auth: auth, loadedFrom: path)
    }
}

extension RoutingTableFile {
    static func secrets(of settings: ExportSourceSettings) -> [SecretReference] {
        switch settings.credentials {
        case .none: return []
        case .bearer(let token): return [token]
        case .basic(_, let password): return [password]
        case .oauth2(let oauth): return [oauth.clientSecret]
        }
    }
}

package struct SecretProblems: Error, CustomStringConvertible {
    package var messages: [String]
    package var description: String { messages.joined(separator: "\n") }
}
