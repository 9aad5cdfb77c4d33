// Match predicates of a route over one event field: equals, in, prefix, regex, exists.
import Foundation

/// A compiled regular expression (NSRegularExpression is immutable and safe to share).
package final class CompiledRegex: @unchecked Sendable, Hashable {
    package let pattern: String
    let regex: NSRegularExpression

    package init(_ pattern: String) throws {
        self.pattern = pattern
        self.regex = try NSRegularExpression(pattern: pattern)
    }

    package func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    package static func == (a: CompiledRegex, b: CompiledRegex) -> Bool { a.pattern == b.pattern }
    package func hash(into hasher: inout Hasher) { hasher.combine(pattern) }
}

package struct Predicate: Sendable, Hashable {
    package enum Test: Sendable, Hashable {
        case equals(String)
        case oneOf([String])
        case prefix(String)
        case regex(CompiledRegex)
        case exists(Bool)
    }
    package var field: FieldPath
    package var test: Test

    package init(field: FieldPath, test: Test) {
        self.field = field
        self.test = test
    }

    /// Scalars compare by their rendered text, so `equals: "true"` matches JSON `true`.
    package func matches(_ event: JSONValue) -> Bool {
        let value = event.value(at: field)
        switch test {
        case .exists(let expected):
            return (value != nil && value != .null) == expected
        case .equals(let expected):
            return value.map { $0.renderedText == expected } ?? false
        case .oneOf(let options):
            return value.map { options.contains($0.renderedText) } ?? false
        case .prefix(let prefix):
            return value.map { $0.renderedText.hasPrefix(prefix) } ?? false
        case .regex(let regex):
            return value.map { regex.matches($0.renderedText) } ?? false
        }
    }
}
