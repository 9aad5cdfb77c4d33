// Turns a raw request body into a JSON object, refusing hostile input with a precise reason.

/// Why a body could not be read as a JSON object (each maps to 400).
package struct BodyParseError: Error, Sendable, Equatable, CustomStringConvertible {
    package var reason: String
    package init(_ reason: String) { self.reason = reason }
    package var description: String { reason }
}

package enum JSONBodyParser {
    /// Deeper nesting than this is refused while parsing, so a hostile body cannot exhaust the stack.
    package static let maxDepth = 64

    /// Parses `body` as a JSON object in one pass (UTF-8, nesting depth and grammar checked together).
    package static func parseObject(_ body: [UInt8]) throws(BodyParseError) -> [String: JSONValue] {
        if body.isEmpty { throw BodyParseError("body is empty; a JSON object is required") }
        let parsed = body.withUnsafeBufferPointer { bytes in
            Result { () throws(JSONValueParser.Failure) -> JSONValue in try JSONValueParser.parse(bytes, maxDepth: maxDepth) }
        }
        let value: JSONValue
        switch parsed {
        case .success(let parsedValue):
            value = parsedValue
        case .failure(.invalidUTF8):
            throw BodyParseError("body is not valid UTF-8")
        case .failure(.duplicateName(let name)):
            throw BodyParseError("member name \(JSONString.quoted(name)) appears twice in one JSON object; names must be unique")
        case .failure(.tooDeep):
            throw BodyParseError("JSON nesting is deeper than \(maxDepth) levels")
        case .failure(.malformed(let message, let offset)):
            throw BodyParseError("malformed JSON: \(message) at byte \(offset + 1)")
        }
        guard case .object(let object) = value else {
            throw BodyParseError("top-level JSON value must be an object, got \(value.typeDescription)")
        }
        return object
    }
}
