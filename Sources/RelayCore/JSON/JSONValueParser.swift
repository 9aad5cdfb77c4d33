// JSONValueParser: a request body's bytes to a JSONValue tree in one pass, checking UTF-8, nesting
// depth and the JSON grammar as it goes (no Foundation decoder, no second pass over the bytes).

/// Recursive descent over the body, bounded by `maxDepth` (so the recursion is too). Strings are
/// cut out by their closing quote and decoded by ``JSONStringCodec`` (a lone `\\uD83D` surrogate is
/// refused, as other readers of the stored body would refuse it); numbers follow RFC 8259's
/// grammar exactly and must fit a Double. A member name repeated in one object is refused: the relay
/// would validate one value while readers of the stored body (which pick the first or the last) see another.
struct JSONValueParser {
    enum Failure: Error {
        case invalidUTF8
        case tooDeep
        case duplicateName(String)
        /// What was wrong, at which byte offset.
        case malformed(String, offset: Int)
    }

    private let base: UnsafePointer<UInt8>
    private let end: Int
    private let maxDepth: Int
    private var i = 0

    private init(base: UnsafePointer<UInt8>, end: Int, maxDepth: Int) {
        self.base = base
        self.end = end
        self.maxDepth = maxDepth
    }

    /// The one JSON value `bytes` hold, with nothing but whitespace around it.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) throws(Failure) -> JSONValue {
        guard let base = bytes.baseAddress else { throw .malformed("unexpected end of input, expected a value", offset: 0) }
        var parser = JSONValueParser(base: base, end: bytes.count, maxDepth: maxDepth)
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        if parser.i < parser.end { throw parser.unexpected("after the JSON value") }
        return value
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        skipSpace()
        guard i < end else { throw .malformed("unexpected end of input, expected a value", offset: i) }
        switch base[i] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw unexpected("where a value was expected")
        }
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONValue {
        if depth > maxDepth { throw .tooDeep }
        i += 1
        var members: [String: JSONValue] = [:]
        skipSpace()
        if i < end, base[i] == UInt8(ascii: "}") {
            i += 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard i < end, base[i] == UInt8(ascii: "\"") else { throw unexpected("where a member name was expected") }
            let key = try string()
            skipSpace()
            guard i < end, base[i] == UInt8(ascii: ":") else { throw unexpected("where ':' was expected") }
            i += 1
            let member = try value(depth: depth)
            if members.updateValue(member, forKey: key) != nil { throw .duplicateName(key) }
            if try closesAfterMember(UInt8(ascii: "}")) { return .object(members) }
        }
    }

    private mutating func array(depth: Int) throws(Failure) -> JSONValue {
        if depth > maxDepth { throw .tooDeep }
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < end, base[i] == UInt8(ascii: "]") {
            i += 1
            return .array(items)
        }
        while true {
            items.append(try value(depth: depth))
            if try closesAfterMember(UInt8(ascii: "]")) { return .array(items) }
        }
    }

    /// After a member or element: true past the container's `close`, false past a comma.
    private mutating func closesAfterMember(_ close: UInt8) throws(Failure) -> Bool {
        skipSpace()
        let expected = "',' or '\(Character(Unicode.Scalar(close)))'"
        guard i < end else { throw .malformed("unexpected end of input, expected \(expected)", offset: i) }
        if base[i] == UInt8(ascii: ",") {
            i += 1
            return false
        }
        guard base[i] == close else { throw unexpected("where \(expected) was expected") }
        i += 1
        return true
    }

    /// The string opening at `i`; leaves `i` after its closing quote.
    private mutating func string() throws(Failure) -> String {
        let start = i + 1
        var j = start
        // The closing quote is the first one not escaped: skip each backslash with the byte it escapes.
        while true {
            guard let quote = ByteSearch.firstIndex(of: UInt8(ascii: "\""), in: base, from: j, to: end) else {
                throw .malformed("unterminated string", offset: i)
            }
            var backslashes = 0
            while quote - backslashes - 1 >= start, base[quote - backslashes - 1] == UInt8(ascii: "\\") { backslashes += 1 }
            if backslashes % 2 == 0 {
                j = quote
                break
            }
            j = quote + 1
        }
        guard let text = JSONStringCodec.decode(base, from: start, to: j, refusingLoneSurrogates: true) else {
            if !UTF8Check.isValid(base, from: start, to: j) { throw .invalidUTF8 }
            throw .malformed("invalid string (a control character, a bad escape or a lone surrogate)", offset: i)
        }
        i = j + 1
        return text
    }

    private mutating func number() throws(Failure) -> Double {
        let start = i
        if base[i] == UInt8(ascii: "-") { i += 1 }
        guard i < end, isDigit(base[i]) else { throw .malformed("a number needs a digit after '-'", offset: start) }
        if base[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            skipDigits()
        }
        if i < end, base[i] == UInt8(ascii: ".") {
            i += 1
            guard i < end, isDigit(base[i]) else { throw .malformed("a number needs a digit after '.'", offset: start) }
            skipDigits()
        }
        if i < end, base[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < end, base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-") { i += 1 }
            guard i < end, isDigit(base[i]) else { throw .malformed("a number needs a digit in its exponent", offset: start) }
            skipDigits()
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: i - start), as: UTF8.self)
        guard let number = Double(text), number.isFinite else {
            throw .malformed("number \(text) is out of range", offset: start)
        }
        return number
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(Failure) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard i + count <= end, memcmpEqual(base + i, word.utf8Start, count) else { throw unexpected("where a value was expected") }
        i += count
        return value
    }

    private mutating func skipSpace() {
        while i < end {
            switch base[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    private mutating func skipDigits() {
        while i < end, isDigit(base[i]) { i += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        for k in 0..<count where a[k] != b[k] { return false }
        return true
    }

    /// The byte at `i` is out of place; a byte that is not even UTF-8 says so instead.
    private func unexpected(_ context: String) -> Failure {
        guard i < end else { return .malformed("unexpected end of input \(context)", offset: i) }
        let byte = base[i]
        if byte >= 0x80, UTF8Check.sequenceLength(base, at: i, end: end) == nil { return .invalidUTF8 }
        let shown = byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
        return .malformed("unexpected \(shown) \(context)", offset: i)
    }
}
