// Shared by the test targets: a deliberately low-level HTTP/1.1 client over a POSIX socket, so tests can send hostile requests byte for byte.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct RawResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
    public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

public struct RawHTTPClient: Sendable {
    public let port: Int

    public init(port: Int) { self.port = port }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Sends `head` + `body` on a fresh connection and reads one response (server may close early, e.g. on 413).
    /// The blocking socket work runs on its own thread so it never starves Swift's cooperative pool
    /// (which also runs the listener's handlers; on Linux GCD's global queues share its width).
    public func send(rawHead: String, body: [UInt8] = [], timeout: TimeInterval = 10) async throws -> RawResponse {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try self.sendBlocking(rawHead: rawHead, body: body, timeout: timeout) })
            }.start()
        }
    }

    private func sendBlocking(rawHead: String, body: [UInt8], timeout: TimeInterval) throws -> RawResponse {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        // A server that has answered early (413) stops reading; give up sending quickly and read its answer.
        var sendTimeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect failed: \(errno)") }
        let request = Array(rawHead.utf8) + body
        var offset = 0
        while offset < request.count {
            let n = request[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }  // the server may stop reading (e.g. body too large) and answer anyway
            offset += n
        }
        return try readResponse(fd)
    }

    private func readResponse(_ fd: Int32) throws -> RawResponse {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        var contentLength: Int?
        while true {
            if let end = headerEnd, let length = contentLength, data.count >= end + length { break }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
            if headerEnd == nil, let range = findHeaderEnd(data) {
                headerEnd = range
                let head = String(decoding: data[0..<range], as: UTF8.self)
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces))
                }
            }
        }
        guard let end = headerEnd else { throw Failure(description: "no response head (got \(data.count) bytes)") }
        let head = String(decoding: data[0..<(end - 4)], as: UTF8.self)
        var lines = head.split(separator: "\r\n").map(String.init)
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure(description: "bad status line") }
        var headers: [String: String] = [:]
        for line in lines {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return RawResponse(status: status, headers: headers, body: Array(data[end...].prefix(contentLength ?? Int.max)))
    }

    private func findHeaderEnd(_ data: [UInt8]) -> Int? {
        guard data.count >= 4 else { return nil }
        for i in 0...(data.count - 4) where data[i] == 13 && data[i + 1] == 10 && data[i + 2] == 13 && data[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    /// POST with a correct Content-Length.
    public func post(_ path: String, body: [UInt8], contentType: String? = "application/json", headers: [(String, String)] = []) async throws -> RawResponse {
        var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        return try await send(rawHead: head + "\r\n", body: body)
    }

    public func post(_ path: String, json: String, headers: [(String, String)] = []) async throws -> RawResponse {
        try await post(path, body: Array(json.utf8), headers: headers)
    }

    public func get(_ path: String) async throws -> RawResponse {
        try await send(rawHead: "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    }
}
