// JSONValidator: checks bytes against the full RFC 8259 grammar without building a tree.

import RelayCore

/// The type of a JSON text's top-level value.
enum JSONValueKind: Sendable, Hashable {
    case object, array, string, number, bool, null

    /// "an object", "a number", ... for error messages.
    var phrase: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }
}

/// Where and why a JSON text is invalid.
struct JSONSyntaxError: Error, Sendable, Hashable {
    /// 0-based byte offset of the problem in the validated bytes.
    var offset: Int
    /// What was wrong there, e.g. "expected ':'".
    var message: String
}

/// A single-pass validator over UTF-8 bytes: strings with escapes and UTF-8 checking, numbers,
/// literals, and nesting up to ``maxDepth`` (tracked in a 64-bit stack, so it never allocates).
struct JSONValidator {
    /// Deeper nesting than this is refused.
    static let maxDepth = 64

    private let base: UnsafePointer<UInt8>
    private let end: Int
    private var i = 0

    private init(base: UnsafePointer<UInt8>, end: Int) {
        self.base = base
        self.end = end
    }

    /// Validates `bytes` as one JSON text (surrounding whitespace allowed) and returns the kind
    /// of its top-level value.
    static func validate(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> JSONValueKind {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JSONSyntaxError(offset: 0, message: "expected a JSON value, found nothing")
        }
        var validator = JSONValidator(base: base, end: bytes.count)
        return try validator.run(prefixOnly: false)
    }

    /// Validates the one JSON value that starts at `base[from]` and may be followed by anything.
    /// Returns the index just past it, or nil when it is invalid or not complete before `end`.
    static func validatePrefix(_ base: UnsafePointer<UInt8>, from: Int, end: Int) -> Int? {
        guard from < end else { return nil }
        var validator = JSONValidator(base: base + from, end: end - from)
        guard (try? validator.run(prefixOnly: true)) != nil else { return nil }
        return from + validator.i
    }

    /// Validates `bytes` as one JSON text.
    static func validate(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValueKind {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) -> JSONValueKind in try validate(buffer) }
        }
        return try result.get()
    }

    /// Validates from `i`; with `prefixOnly`, stops after the first complete value instead of
    /// requiring that only whitespace follows it.
    private mutating func run(prefixOnly: Bool) throws(JSONSyntaxError) -> JSONValueKind {
        skipSpace()
        guard i < end else { throw JSONSyntaxError(offset: i, message: "expected a JSON value, found only whitespace") }
        let kind: JSONValueKind
        switch base[i] {
        case ASCII.openBrace: kind = .object
        case ASCII.openBracket: kind = .array
        case ASCII.quote: kind = .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): kind = .bool
        case UInt8(ascii: "n"): kind = .null
        default: kind = .number
        }
        var depth = 0
        // Bit `d - 1` is set when the container at depth `d` is an object.
        var objects: UInt64 = 0
        value: while true {
            guard i < end else { throw fail("unexpected end of input, expected a value") }
            switch base[i] {
            case ASCII.openBrace, ASCII.openBracket:
                let isObject = base[i] == ASCII.openBrace
                depth += 1
                if depth > Self.maxDepth { throw fail("nesting deeper than \(Self.maxDepth) levels") }
                let bit: UInt64 = 1 << UInt64(depth - 1)
                objects = isObject ? objects | bit : objects & ~bit
                i += 1
                skipSpace()
                if i < end, base[i] == (isObject ? ASCII.closeBrace : ASCII.closeBracket) {
                    i += 1
                    depth -= 1
                } else {
                    if isObject { try memberName() }
                    continue value
                }
            case ASCII.quote:
                try string()
            case UInt8(ascii: "t"):
                try literal(0x74, 0x72, 0x75, 0x65, "true")
            case UInt8(ascii: "f"):
                try literalFalse()
            case UInt8(ascii: "n"):
                try literal(0x6E, 0x75, 0x6C, 0x6C, "null")
            case ASCII.minus, ASCII.zero...ASCII.nine:
                try number()
            default:
                throw fail("expected a value")
            }
            // After a complete value: close containers or move to the next member/element.
            while true {
                if depth == 0, prefixOnly { return kind }
                skipSpace()
                if depth == 0 {
                    if i < end { throw fail("unexpected data after the JSON value") }
                    return kind
                }
                guard i < end else { throw fail("unexpected end of input, expected ',' or a closing bracket") }
                let byte = base[i]
                let inObject = objects & (1 << UInt64(depth - 1)) != 0
                if byte == ASCII.comma {
                    i += 1
                    skipSpace()
                    if inObject { try memberName() }
                    continue value
                }
                if byte == (inObject ? ASCII.closeBrace : ASCII.closeBracket) {
                    i += 1
                    depth -= 1
                    continue
                }
                throw fail(inObject ? "expected ',' or '}'" : "expected ',' or ']'")
            }
        }
    }

    private func fail(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: i, message: message)
    }

    @inline(__always)
    private mutating func skipSpace() {
        while i < end, ASCII.isJSONSpace(base[i]) { i += 1 }
    }

    /// A member name, the colon after it, and the whitespace before the value.
    @inline(__always)
    private mutating func memberName() throws(JSONSyntaxError) {
        guard i < end, base[i] == ASCII.quote else { throw fail("expected a string key") }
        try string()
        skipSpace()
        guard i < end, base[i] == ASCII.colon else { throw fail("expected ':'") }
        i += 1
        skipSpace()
    }

    /// A string starting at the opening quote; leaves `i` after the closing quote.
    private mutating func string() throws(JSONSyntaxError) {
        i += 1
        while true {
            // Eight bytes at a time up to the first '"', '\', control character or non-ASCII.
            while i + 8 <= end {
                let special = WordScan.jsonStringSpecials(WordScan.load(base, at: i))
                if special != 0 {
                    i += WordScan.firstIndex(special)
                    break
                }
                i += 8
            }
            guard i < end else { throw fail("unterminated string") }
            let byte = base[i]
            if byte == ASCII.quote {
                i += 1
                return
            }
            if byte == ASCII.backslash {
                try escape()
            } else if byte < 0x20 {
                throw fail("control character in string")
            } else if byte >= 0x80 {
                guard let length = UTF8Check.sequenceLength(base, at: i, end: end) else {
                    throw fail("invalid UTF-8 in string")
                }
                i += length
            } else {
                i += 1
            }
        }
    }

    private mutating func escape() throws(JSONSyntaxError) {
        guard i + 1 < end else { throw fail("unterminated string") }
        switch base[i + 1] {
        case ASCII.quote, ASCII.backslash, ASCII.slash,
             UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            i += 2
        case UInt8(ascii: "u"):
            guard i + 6 <= end else { throw fail("invalid \\u escape") }
            for k in 2..<6 where JSONStringCodec.hexValue(base[i + k]) == nil {
                throw fail("invalid \\u escape")
            }
            i += 6
        default:
            throw fail("invalid escape sequence")
        }
    }

    @inline(__always)
    private mutating func literal(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ name: String) throws(JSONSyntaxError) {
        guard i + 4 <= end, base[i] == a, base[i + 1] == b, base[i + 2] == c, base[i + 3] == d else {
            throw fail("invalid literal, expected '\(name)'")
        }
        i += 4
    }

    private mutating func literalFalse() throws(JSONSyntaxError) {
        guard i + 5 <= end, base[i + 1] == 0x61, base[i + 2] == 0x6C, base[i + 3] == 0x73, base[i + 4] == 0x65 else {
            throw fail("invalid literal, expected 'false'")
        }
        i += 5
    }

    private mutating func number() throws(JSONSyntaxError) {
        if base[i] == ASCII.minus { i += 1 }
        guard i < end, ASCII.isDigit(base[i]) else { throw fail("invalid number, expected a digit") }
        if base[i] == ASCII.zero {
            i += 1
            if i < end, ASCII.isDigit(base[i]) { throw fail("invalid number, leading zero") }
        } else {
            while i < end, ASCII.isDigit(base[i]) { i += 1 }
        }
        if i < end, base[i] == ASCII.dot {
            i += 1
            guard i < end, ASCII.isDigit(base[i]) else { throw fail("invalid number, expected a digit after '.'") }
            while i < end, ASCII.isDigit(base[i]) { i += 1 }
        }
        if i < end, base[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < end, base[i] == ASCII.plus || base[i] == ASCII.minus { i += 1 }
            guard i < end, ASCII.isDigit(base[i]) else { throw fail("invalid number, expected a digit in the exponent") }
            while i < end, ASCII.isDigit(base[i]) { i += 1 }
        }
    }
}
