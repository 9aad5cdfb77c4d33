// A decoded JSON value: what validation and route matching look at (the stored body stays verbatim).
import Foundation

package enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    package var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    package var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    package var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The JSON type name used in error messages ("a string", "an object", ...).
    package var typeDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Follows a dotted path (`details.0.stage`); numeric segments index arrays.
    package func value(at path: FieldPath) -> JSONValue? {
        var current: JSONValue = self
        for segment in path.segments {
            switch current {
            case .object(let object):
                guard let next = object[segment] else { return nil }
                current = next
            case .array(let array):
                guard let index = Int(segment), array.indices.contains(index) else { return nil }
                current = array[index]
            default:
                return nil
            }
        }
        return current
    }

    /// The text a template or predicate sees: strings as-is, scalars in JSON form, containers as compact JSON.
    package var renderedText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n):
            if n.rounded() == n, abs(n) < 1e15 { return String(Int64(n)) }
            return String(n)
        case .string(let s): return s
        case .array, .object: return String(decoding: compactJSON(), as: UTF8.self)
        }
    }

    /// Compact, key-sorted JSON bytes (deterministic, for keys and diagnostics).
    package func compactJSON() -> [UInt8] {
        var out: [UInt8] = []
        appendJSON(to: &out)
        return out
    }

    private func appendJSON(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: Array("null".utf8))
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .number: out.append(contentsOf: Array(renderedText.utf8))
        case .string(let s): JSONString.appendQuoted(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.appendJSON(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (i, key) in object.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.appendQuoted(key, to: &out)
                out.append(UInt8(ascii: ":"))
                object[key]?.appendJSON(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}

/// A dotted path into a JSON document, e.g. `friendlyId` or `details.0.stage`.
package struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    package let segments: [String]
    package init(_ text: String) {
        segments = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }
    package var description: String { segments.joined(separator: ".") }

    /// True when every segment is non-empty and made of letters, digits, `_`, `-` or `$`.
    package var isWellFormed: Bool {
        !segments.isEmpty && segments.allSatisfy { seg in
            !seg.isEmpty && seg.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "_-$".unicodeScalars.contains($0) }
        }
    }
}
