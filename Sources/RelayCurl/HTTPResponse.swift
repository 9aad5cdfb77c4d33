// Response values: the status line and headers, and the buffered result of `execute`.

/// Status and headers of the final response (after any followed redirects).
package struct HTTPResponseHead: Sendable {
    /// HTTP status code.
    package var status: Int
    /// Response headers in the order received; names as the server spelled them.
    package var headers: [(name: String, value: String)]

    package init(status: Int, headers: [(name: String, value: String)]) {
        self.status = status
        self.headers = headers
    }

    /// The value of the first header called `name`, compared without regard to ASCII case.
    package func header(_ name: String) -> String? {
        for header in headers where asciiCaseInsensitiveEquals(header.name, name) {
            return header.value
        }
        return nil
    }

    /// Every value of the headers called `name`, compared without regard to ASCII case.
    package func headers(named name: String) -> [String] {
        headers.filter { asciiCaseInsensitiveEquals($0.name, name) }.map(\.value)
    }
}

/// The result of ``CurlClient/execute(_:maxBodyBytes:)``. Any status is a result, not an error.
package struct HTTPResult: Sendable {
    package var head: HTTPResponseHead
    /// The first `maxBodyBytes` bytes of the body; the rest was read and dropped.
    package var body: [UInt8]
    /// Whether the body was longer than `maxBodyBytes`.
    package var bodyTruncated: Bool
    /// URL of the last request made: the request's own unless redirects were followed.
    package var effectiveURL: String
    /// Time the whole transfer took, from start to the last byte.
    package var totalTime: Duration

    package init(head: HTTPResponseHead, body: [UInt8], bodyTruncated: Bool, effectiveURL: String, totalTime: Duration) {
        self.head = head
        self.body = body
        self.bodyTruncated = bodyTruncated
        self.effectiveURL = effectiveURL
        self.totalTime = totalTime
    }
}

func asciiCaseInsensitiveEquals(_ lhs: String, _ rhs: String) -> Bool {
    var left = lhs.utf8.makeIterator()
    var right = rhs.utf8.makeIterator()
    while true {
        switch (left.next(), right.next()) {
        case (nil, nil):
            return true
        case let (l?, r?):
            if l != r && asciiLower(l) != asciiLower(r) { return false }
        default:
            return false
        }
    }
}

/// Whether header bytes can go on the wire as they are: no CR, LF or NUL (which would end the line early
/// or split it into another header).
package func isSendableHeaderText(_ bytes: UnsafeRawBufferPointer) -> Bool {
    !bytes.contains { $0 == 0 || $0 == 0x0a || $0 == 0x0d }
}

@inline(__always)
package func asciiLower(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
}
