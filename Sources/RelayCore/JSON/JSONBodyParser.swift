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
        let depth = maxNestingDepth(body)
        if depth > maxDepth {
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
        return object
    }

    /// Deepest bracket nesting outside string literals (stops counting once past the limit).
    static func maxNestingDepth(_ body: [UInt8]) -> Int {
        var depth = 0, deepest = 0
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
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > deepest {
                    deepest = depth
                    if deepest > maxDepth { return deepest }
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
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
