// Error-collecting access to a composed YAML tree: every accessor records what is wrong and where.
import Yams

final class YAMLReader {
    let file: String
    private(set) var errors: [ConfigError] = []

    init(file: String) { self.file = file }

    func error(at node: Node?, _ message: String) {
        let mark = node?.mark
        errors.append(ConfigError(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message))
    }

    func error(line: Int, column: Int, _ message: String) {
        errors.append(ConfigError(file: file, line: line, column: column, message: message))
    }

    /// The keys of a mapping as a dictionary; reports a non-mapping, unknown, duplicate and missing keys.
    func fields(_ node: Node, _ context: String, allowed: Set<String>, required: Set<String> = []) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            error(at: node, "\(context) must be a mapping")
            return nil
        }
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode else {
                error(at: keyNode, "\(context): keys must be plain names")
                continue
            }
            if !allowed.contains(key.string) {
                error(at: keyNode, "\(context): unknown key '\(key.string)' (allowed: \(allowed.sorted().joined(separator: ", ")))")
            } else if result[key.string] != nil {
                error(at: keyNode, "\(context): duplicate key '\(key.string)'")
            } else {
                result[key.string] = value
            }
        }
        for key in required.sorted() where result[key] == nil {
            error(at: node, "\(context): missing required key '\(key)'")
        }
        return result
    }

    /// Ordered (key node, value node) pairs of a mapping whose keys are names chosen by the operator.
    func namedEntries(_ node: Node, _ context: String) -> [(name: String, key: Node, value: Node)] {
        guard case .mapping(let mapping) = node else {
            error(at: node, "\(context) must be a mapping of names to settings")
            return []
        }
        var seen = Set<String>()
        var result: [(String, Node, Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode, !key.string.isEmpty else {
                error(at: keyNode, "\(context): names must be non-empty strings")
                continue
            }
            if !seen.insert(key.string).inserted {
                error(at: keyNode, "\(context): duplicate name '\(key.string)'")
                continue
            }
            result.append((key.string, keyNode, value))
        }
        return result
    }

    /// Item `index` of a sequence node (where an error about that item points), else the node itself.
    func item(_ node: Node?, _ index: Int) -> Node? {
        if case .sequence(let sequence)? = node, sequence.indices.contains(index) { return sequence[index] }
        return node
    }

    func string(_ node: Node?, _ context: String, allowEmpty: Bool = false) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            error(at: node, "\(context) must be a string")
            return nil
        }
        if !allowEmpty && scalar.string.isEmpty {
            error(at: node, "\(context) must not be empty")
            return nil
        }
        return scalar.string
    }

    func int(_ node: Node?, _ context: String, min: Int = Int.min, max: Int = Int.max) -> Int? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            error(at: node, "\(context) must be an integer")
            return nil
        }
        guard value >= min, value <= max else {
            error(at: node, "\(context) must be between \(min) and \(max) (got \(value))")
            return nil
        }
        return value
    }

    func bool(_ node: Node?, _ context: String) -> Bool? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, let value = Bool.construct(from: scalar) else {
            error(at: node, "\(context) must be true or false")
            return nil
        }
        return value
    }

    func duration(_ node: Node?, _ context: String) -> Duration? {
        guard let text = string(node, context) else { return nil }
        guard let value = ConfigValues.duration(text) else {
            error(at: node, "\(context) must be a duration such as 250ms, 10s, 5m or 24h (got '\(text)')")
            return nil
        }
        return value
    }

    /// Reads each key of `properties` that `fields` has as a duration into that property of
    /// `target`; a back-off range (`range`: the keys of its start and its ceiling) must not be upside down.
    func durations<Root>(_ fields: [String: Node], _ context: String, into target: inout Root,
                         _ properties: KeyValuePairs<String, WritableKeyPath<Root, Duration>>,
                         range: (start: String, ceiling: String), of node: Node) {
        var byKey: [String: WritableKeyPath<Root, Duration>] = [:]
        for (key, property) in properties {
            byKey[key] = property
            if let value = duration(fields[key], "\(context).\(key)") { target[keyPath: property] = value }
        }
        guard let start = byKey[range.start], let ceiling = byKey[range.ceiling] else {
            preconditionFailure("the range's keys must be among the properties")
        }
        if target[keyPath: ceiling] < target[keyPath: start] {
            error(at: fields[range.ceiling] ?? node, "\(context).\(range.ceiling) must not be shorter than \(range.start)")
        }
    }

    func byteSize(_ node: Node?, _ context: String) -> Int? {
        guard let text = string(node, context) else { return nil }
        guard let value = ConfigValues.byteSize(text), value > 0 else {
            error(at: node, "\(context) must be a positive size such as 1048576, 512KiB or 1MiB (got '\(text)')")
            return nil
        }
        return value
    }

    /// A sequence of strings; a single string is accepted as a one-element list.
    func stringList(_ node: Node?, _ context: String) -> [String]? {
        guard let node else { return nil }
        if case .scalar = node { return string(node, context).map { [$0] } }
        guard case .sequence(let sequence) = node else {
            error(at: node, "\(context) must be a list of strings")
            return nil
        }
        var items: [String] = []
        for (i, item) in sequence.enumerated() {
            if let s = string(item, "\(context)[\(i)]") { items.append(s) }
        }
        return items
    }

    /// A mapping of names to string values, in file order.
    func stringMap(_ node: Node?, _ context: String) -> [(name: String, value: String, node: Node)]? {
        guard let node else { return nil }
        return namedEntries(node, context).compactMap { entry in
            string(entry.value, "\(context).\(entry.name)", allowEmpty: true).map { (entry.name, $0, entry.value) }
        }
    }

    func secret(_ node: Node?, _ context: String) -> SecretReference? {
        guard let text = string(node, context) else { return nil }
        do {
            return try SecretReference(parsing: text)
        } catch {
            self.error(at: node, "\(context): \(error.message)")
            return nil
        }
    }

    func template(_ node: Node?, _ context: String) -> Template? {
        guard let text = string(node, context, allowEmpty: true) else { return nil }
        do {
            return try Template(parsing: text)
        } catch {
            self.error(at: node, "\(context): \(error.message)")
            return nil
        }
    }
}
