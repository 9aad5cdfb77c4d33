// Turns a raw request body into a JSON object, refusing hostile input with a precise reason.
import Foundation

/// Why a body could not be read as a JSON object (each maps to 400).
package struct BodyParseError: Error, Sendable, Equatable, CustomStringConvertible {
    package var reason: String
    package init(_ reason: String) { self.reason = reason }
    package var description: String { reason }
}

package enum JSONBodyParser {
    /// Deeper nesting than this is refused before decoding, so a hostile body cannot exhaust the stack.
    package static let maxDepth = 64

    /// Parses `body` as a JSON object. Checks UTF-8 validity and nesting depth first.
    package static func parseObject(_ body: [UInt8]) throws(BodyParseError) -> [String: JSONValue] {
        if body.isEmpty { throw BodyParseError("body is empty; a JSON object is required") }
        guard String(validating: body, as: UTF8.self) != nil else {
            throw BodyParseError("body is not valid UTF-8")
        }
        let shape = shape(body)
        if shape.deepest > maxDepth {
            throw BodyParseError("JSON nesting is deeper than \(maxDepth) levels")
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(body))
        } catch {
            throw BodyParseError("malformed JSON: \(describe(error))")
        }
        guard case .object(let object) = value else {
            throw BodyParseError("top-level JSON value must be an object, got \(value.typeDescription)")
        }
        // A name twice in one object: JSONDecoder keeps the first value, most readers of the stored body
        // (JSONSerialization, Python, JavaScript) the last, so what was validated is not what they would see.
        if memberCount(value) != shape.names {
            throw BodyParseError("a member name appears twice in one JSON object; names must be unique")
        }
        return object
    }

    /// Deepest bracket nesting outside string literals (stops counting once past the limit), and the
    /// number of `:` outside them: in well-formed JSON, one per object member.
    static func shape(_ body: [UInt8]) -> (deepest: Int, names: Int) {
        var depth = 0, deepest = 0, names = 0
        var inString = false, escaped = false
        for byte in body {
            if inString {
                if escaped { escaped = false }
                else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: ":"): names += 1
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > deepest {
                    deepest = depth
                    if deepest > maxDepth { return (deepest, names) }
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return (deepest, names)
    }

    /// Members of every object in `value`, nested ones included.
    static func memberCount(_ value: JSONValue) -> Int {
        switch value {
        case .object(let object): return object.values.reduce(object.count) { $0 + memberCount($1) }
        case .array(let items): return items.reduce(0) { $0 + memberCount($1) }
        default: return 0
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let decoding = error as? DecodingError {
            switch decoding {
            case .dataCorrupted(let context):
                if let underlying = context.underlyingError as NSError?,
                   let detail = underlying.userInfo[NSDebugDescriptionErrorKey] as? String {
                    return detail
                }
                return context.debugDescription
            default:
                return "\(decoding)"
            }
        }
        return "\(error)"
    }
}
