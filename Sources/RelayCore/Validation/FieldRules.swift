// Single-field checks shared by every payload validator; each returns the reason a value is bad.
import Foundation

enum FieldRules {
    /// A non-empty string (whitespace alone counts as empty).
    static func nonEmptyString(_ value: JSONValue) -> String? {
        guard case .string(let s) = value else { return "must be a string, got \(value.typeDescription)" }
        if s.allSatisfy(\.isWhitespace) { return "must not be empty" }
        return nil
    }

    /// An uppercase enum member; a lowercase value is never normalised.
    static func enumMember(_ value: JSONValue, allowed: [String]) -> String? {
        guard case .string(let s) = value else { return "must be a string, got \(value.typeDescription)" }
        if allowed.contains(s) { return nil }
        let list = allowed.joined(separator: ", ")
        if s != s.uppercased() {
            return "must be uppercase (got \(JSONString.quoted(s))); allowed values: \(list)"
        }
        return "must be one of \(list) (got \(JSONString.quoted(s)))"
    }

    /// `^[a-z0-9_]+$`, at most `maxLength` characters.
    static func friendlyID(_ value: JSONValue, maxLength: Int) -> String? {
        guard case .string(let s) = value else { return "must be a string, got \(value.typeDescription)" }
        if s.isEmpty { return "must not be empty" }
        if s.utf8.count > maxLength { return "must be at most \(maxLength) characters (got \(s.utf8.count))" }
        let ok = s.utf8.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
        }
        return ok ? nil : "must contain only lowercase letters a-z, digits 0-9 and _ (got \(JSONString.quoted(s)))"
    }

    /// A UUID in 8-4-4-4-12 hex form.
    static func uuid(_ value: JSONValue) -> String? {
        guard case .string(let s) = value else { return "must be a string, got \(value.typeDescription)" }
        return isUUID(s) ? nil : "must be a UUID of the form 8-4-4-4-12 hex digits (got \(JSONString.quoted(s)))"
    }

    static func isUUID(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard bytes.count == 36 else { return false }
        for (i, b) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if b != UInt8(ascii: "-") { return false }
            } else {
                let hex = (b >= 48 && b <= 57) || (b >= 97 && b <= 102) || (b >= 65 && b <= 70)
                if !hex { return false }
            }
        }
        return true
    }

    /// An absolute http(s) URL with a host.
    static func absoluteHTTPURL(_ value: JSONValue) -> String? {
        guard case .string(let s) = value else { return "must be a string, got \(value.typeDescription)" }
        guard let url = URLComponents(string: s), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else { return "must be an absolute http or https URL (got \(JSONString.quoted(s)))" }
        return nil
    }

    /// A JSON boolean.
    static func boolean(_ value: JSONValue) -> String? {
        if case .bool = value { return nil }
        return "must be a boolean, got \(value.typeDescription)"
    }

    /// A non-negative number (epoch seconds or milliseconds).
    static func nonNegativeNumber(_ value: JSONValue) -> String? {
        guard case .number(let n) = value else { return "must be a number, got \(value.typeDescription)" }
        return n >= 0 ? nil : "must not be negative"
    }
}
