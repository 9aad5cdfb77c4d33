// JSONValueScanner: finds where one JSON value ends in a byte stream, across chunk boundaries.

import RelayCore

/// Tracks strings, escapes and bracket nesting of one JSON value fed in pieces, without
/// building anything. It only finds the value's end; ``JSONValidator`` judges the bytes after.
/// Bracket matching is checked for the first 64 levels (a bit stack, no allocation).
struct JSONValueScanner {
    private enum Mode {
        /// Before the value's first byte.
        case start
        /// Inside `{...}` or `[...]`, outside a string.
        case container
        /// Inside a string (top-level or nested).
        case string
        /// A number or literal at the top level: ends at whitespace, ',', ']' or '}'.
        case scalar
    }

    private var mode = Mode.start
    private var depth = 0
    /// Bit `d - 1` set when the container at depth `d` is an object.
    private var objects: UInt64 = 0
    private var escaped = false

    /// Prepares for a new value; the next ``scan(_:from:end:line:)`` starts at its first byte,
    /// which must not be whitespace.
    mutating func reset() {
        mode = .start
        escaped = false
        depth = 0
        objects = 0
    }

    /// Scans `base[from..<end]`. Returns the index just past the value's last byte, or nil when
    /// the value goes on past `end`. Adds each line feed it passes to `line`.
    /// Throws a message when a closing bracket does not match its opening one.
    mutating func scan(_ base: UnsafePointer<UInt8>, from: Int, end: Int, line: inout Int) throws(ScanFailure) -> Int? {
        var i = from
        while i < end {
            switch mode {
            case .start:
                let first = base[i]
                i += 1
                switch first {
                case ASCII.openBrace, ASCII.openBracket:
                    mode = .container
                    push(isObject: first == ASCII.openBrace)
                case ASCII.quote:
                    mode = .string
                default:
                    mode = .scalar
                }
            case .scalar:
                let byte = base[i]
                if ASCII.isJSONSpace(byte) || byte == ASCII.comma || byte == ASCII.closeBracket || byte == ASCII.closeBrace {
                    return i
                }
                i += 1
            case .string:
                while i < end {
                    if !escaped {
                        while i + 8 <= end {
                            let word = WordScan.load(base, at: i)
                            let special = WordScan.equalBytes(word, ASCII.quote) | WordScan.equalBytes(word, ASCII.backslash)
                                | WordScan.equalBytes(word, ASCII.newline)
                            if special != 0 {
                                i += WordScan.firstIndex(special)
                                break
                            }
                            i += 8
                        }
                        if i == end { break }
                    }
                    let byte = base[i]
                    i += 1
                    if escaped {
                        escaped = false
                    } else if byte == ASCII.quote {
                        mode = .container
                        if depth == 0 { return i }
                        break
                    } else if byte == ASCII.backslash {
                        escaped = true
                    } else if byte == ASCII.newline {
                        line += 1
                    }
                }
            case .container:
                while i < end {
                    let byte = base[i]
                    i += 1
                    switch byte {
                    case ASCII.quote:
                        mode = .string
                    case ASCII.openBrace, ASCII.openBracket:
                        push(isObject: byte == ASCII.openBrace)
                    case ASCII.closeBrace, ASCII.closeBracket:
                        if depth <= 64 {
                            let isObject = objects & (1 << UInt64(depth - 1)) != 0
                            if isObject != (byte == ASCII.closeBrace) {
                                throw ScanFailure(index: i - 1, message: "'\(Character(Unicode.Scalar(byte)))' does not match the open '\(isObject ? "{" : "[")'")
                            }
                        }
                        depth -= 1
                        if depth == 0 { return i }
                    case ASCII.newline:
                        line += 1
                    default:
                        break
                    }
                    if mode == .string { break }
                }
            }
        }
        return nil
    }

    @inline(__always)
    private mutating func push(isObject: Bool) {
        depth += 1
        guard depth <= 64 else { return }
        let bit: UInt64 = 1 << UInt64(depth - 1)
        if isObject { objects |= bit } else { objects &= ~bit }
    }
}

/// A bracket mismatch found by ``JSONValueScanner``: the stream cannot be resynchronised.
struct ScanFailure: Error {
    /// Index in the scanned buffer of the offending byte.
    var index: Int
    var message: String
}
