// `{{field.path}}` templates over event fields, used for message keys and headers.
import Foundation

package struct Template: Sendable, Hashable, CustomStringConvertible {
    enum Part: Sendable, Hashable {
        case literal(String)
        case field(FieldPath)
    }
    let parts: [Part]
    package let source: String

    /// Parses a template; the error names what is wrong with it.
    package init(parsing text: String) throws(TemplateError) {
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.literal(String(rest[..<open.lowerBound]))) }
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.range(of: "}}") else {
                throw TemplateError(message: "unclosed '{{' in template \(JSONString.quoted(text))")
            }
            let name = afterOpen[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            let path = FieldPath(name)
            guard path.isWellFormed else {
                throw TemplateError(message: "bad field reference {{\(name)}} in template \(JSONString.quoted(text)); use {{field}} or {{field.sub}}")
            }
            parts.append(.field(path))
            rest = afterOpen[close.upperBound...]
        }
        if rest.contains("}}") { throw TemplateError(message: "'}}' without '{{' in template \(JSONString.quoted(text))") }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        self.parts = parts
        self.source = text
    }

    /// The template `{{field}}`, built without parsing.
    package init(field: FieldPath) {
        parts = [.field(field)]
        source = "{{\(field)}}"
    }

    package var description: String { source }

    /// The field when the template is exactly `{{field}}` (the usual key), else nil.
    package var singleField: FieldPath? {
        if parts.count == 1, case .field(let path) = parts[0] { return path }
        return nil
    }

    /// Field references the template reads.
    package var fields: [FieldPath] {
        parts.compactMap { if case .field(let f) = $0 { return f } else { return nil } }
    }

    /// Renders with `lookup` giving each referenced field's text (nil renders as the empty string).
    package func render(lookup: (FieldPath) -> String?) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let s): out += s
            case .field(let path): out += lookup(path) ?? ""
            }
        }
        return out
    }

    /// Renders over `fields`; a missing field renders as the empty string.
    package func render(_ fields: JSONValue) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let s): out += s
            case .field(let path): out += fields.value(at: path)?.renderedText ?? ""
            }
        }
        return out
    }
}

package struct TemplateError: Error, Sendable {
    package var message: String
}
