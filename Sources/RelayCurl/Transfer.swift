// One transfer's state: owns its easy handle (borrowed from the pool) and header list, collects
// the response through libcurl's callbacks, and hands the outcome to the waiting caller.

import CCurl

/// State of one request from submission to completion.
///
/// Threading: the submitting task configures it; from `CurlCore.submit` until the worker
/// resumes a continuation it is touched only by the worker thread (the callbacks run there);
/// after that only by the task that awaited it. `cancelRequested` is guarded by the core's lock.
final class Transfer: @unchecked Sendable {
    let easy: EasyHandle
    private let pool: EasyHandlePool
    /// The request's header list (`curl_slist` nodes and their lines in one allocation); freed in deinit.
    private var headerBlock: UnsafeMutableRawPointer?
    private let followRedirects: Bool
    /// The request's URL (what ``result()`` reports when no redirect was followed).
    private let url: String
    /// The response headers to parse (nil: all).
    private let keptHeaders: [String]?

    /// Header lines of the latest response, status line excluded; reset at every status line.
    private(set) var headerBytes: [UInt8] = []
    private(set) var status = 0
    private(set) var body: [UInt8] = []
    private(set) var bodyTruncated = false
    private let maxBodyBytes: Int

    /// Buffered mode: resumed once with nil (done) or the failure.
    var completion: UnsafeContinuation<CurlError?, Never>?
    /// Streaming mode: resumed once, when the final head is known or the transfer failed first.
    var headContinuation: UnsafeContinuation<Result<HTTPResponseHead, CurlError>, Never>?
    /// Streaming mode: the body chunks on their way to the consumer.
    let stream: StreamBuffer?
    /// Set under the core's lock; a cancelled transfer is never added to the multi handle.
    var cancelRequested = false
    /// Batch mode: the batch and the item this transfer carries; the outcome goes to the batch's handlers.
    var batch: CurlBatch?
    var batchIndex = 0
    /// The request's check of the connected address, asked by libcurl's pre-request callback.
    private let peerCheck: (@Sendable (_ address: String, _ port: Int) -> String?)?
    /// Set by the worker when ``peerCheck`` refused a peer; turns libcurl's abort into `refusedPeer`.
    private var peerRefusal: CurlError?

    private init(
        easy: EasyHandle, pool: EasyHandlePool, url: String, followRedirects: Bool, maxBodyBytes: Int, stream: StreamBuffer?,
        peerCheck: (@Sendable (_ address: String, _ port: Int) -> String?)?, keptHeaders: [String]?
    ) {
        self.easy = easy
        self.url = url
        self.keptHeaders = keptHeaders
        self.peerCheck = peerCheck
        self.pool = pool
        self.followRedirects = followRedirects
        self.maxBodyBytes = maxBodyBytes
        self.stream = stream
        // Allocated here, on the caller's thread, rather than grown on the worker.
        headerBytes.reserveCapacity(1024)
    }

    deinit {
        // Reset first: the handle must not point at the list once it is freed.
        pool.release(easy)
        headerBlock?.deallocate()
    }

    /// A transfer for `request` with every libcurl option set, ready to be submitted.
    static func make(
        _ request: HTTPRequestSpec,
        configuration: CurlClientConfiguration,
        pool: EasyHandlePool,
        maxBodyBytes: Int,
        streaming: Bool
    ) throws(CurlError) -> Transfer {
        guard let easy = pool.acquire() else {
            throw CurlError(code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "curl_easy_init failed", kind: .other)
        }
        let transfer = Transfer(
            easy: easy, pool: pool, url: request.url, followRedirects: request.followRedirects,
            maxBodyBytes: max(0, maxBodyBytes),
            stream: streaming ? StreamBuffer(limit: max(1, configuration.streamBufferBytes)) : nil,
            peerCheck: request.peerCheck, keptHeaders: request.responseHeaders
        )
        try transfer.configure(request, configuration: configuration, streaming: streaming)
        return transfer
    }

    private func configure(_ request: HTTPRequestSpec, configuration: CurlClientConfiguration, streaming: Bool) throws(CurlError) {
        let h = easy.raw
        var rc = CURLE_OK
        func set(_ code: CURLcode) { if rc == CURLE_OK { rc = code } }

        let me = Unmanaged.passUnretained(self).toOpaque()
        set(easy.setCommonOptions(url: request.url, connectTimeout: request.connectTimeout, totalTimeout: request.totalTimeout,
                                  caFile: request.caFile, proxy: request.proxy, httpVersion: configuration.httpVersion))

        set(relay_curl_setopt_write_callback(h, CURLOPT_WRITEFUNCTION) { data, size, count, opaque in
            guard let opaque else { return 0 }
            return Unmanaged<Transfer>.fromOpaque(opaque).takeUnretainedValue().receiveBody(data, size * count)
        })
        set(relay_curl_setopt_pointer(h, CURLOPT_WRITEDATA, me))
        set(relay_curl_setopt_write_callback(h, CURLOPT_HEADERFUNCTION) { data, size, count, opaque in
            guard let opaque else { return 0 }
            return Unmanaged<Transfer>.fromOpaque(opaque).takeUnretainedValue().receiveHeader(data, size * count)
        })
        set(relay_curl_setopt_pointer(h, CURLOPT_HEADERDATA, me))

        if peerCheck != nil {
            set(relay_curl_setopt_prereq_callback(h, CURLOPT_PREREQFUNCTION) { opaque, primaryIP, _, primaryPort, _ in
                guard let opaque else { return relay_curl_prereqfunc_abort() }
                let address = primaryIP.map { String(cString: $0) } ?? ""
                return Unmanaged<Transfer>.fromOpaque(opaque).takeUnretainedValue().checkPeer(address, Int(primaryPort))
            })
            set(relay_curl_setopt_pointer(h, CURLOPT_PREREQDATA, me))
        }

        if request.followRedirects {
            set(relay_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 1))
            set(relay_curl_setopt_long(h, CURLOPT_MAXREDIRS, max(0, request.maxRedirects)))
            set(relay_curl_setopt_string(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        }
        if streaming {
            set(relay_curl_setopt_long(h, CURLOPT_BUFFERSIZE, min(max(configuration.streamChunkBytes, 1024), 512 * 1024)))
        }

        try setMethodAndBody(request, rc: &rc)
        try setHeaders(request.headers, hasBody: hasBody(request))
        if rc != CURLE_OK {
            throw CurlError(code: rc, detail: easy.errorDetail)
        }
    }

    private func hasBody(_ request: HTTPRequestSpec) -> Bool {
        if !request.body.isEmpty { return true }
        switch request.method {
        case "POST", "PUT", "PATCH": return true
        default: return false
        }
    }

    private func setMethodAndBody(_ request: HTTPRequestSpec, rc: inout CURLcode) throws(CurlError) {
        let h = easy.raw
        func set(_ code: CURLcode) { if rc == CURLE_OK { rc = code } }
        let method = request.method
        guard !method.isEmpty, method.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw .invalidRequest("invalid HTTP method '\(method)'")
        }
        if hasBody(request) {
            set(relay_curl_setopt_off_t(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            if request.body.isEmpty {
                set(relay_curl_setopt_string(h, CURLOPT_COPYPOSTFIELDS, ""))
            } else {
                set(request.body.withUnsafeBytes { bytes in
                    relay_curl_setopt_pointer(h, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                })
            }
            if method != "POST" {
                set(method.withCString { relay_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, $0) })
            }
        } else if method == "HEAD" {
            set(relay_curl_setopt_long(h, CURLOPT_NOBODY, 1))
        } else if method != "GET" {
            set(method.withCString { relay_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, $0) })
        }
    }

    private func setHeaders(_ headers: [(name: String, value: String)], hasBody: Bool) throws(CurlError) {
        var sawContentType = false
        var sawExpect = false
        var textBytes = 0
        for header in headers {
            if asciiCaseInsensitiveEquals(header.name, "content-type") { sawContentType = true }
            if asciiCaseInsensitiveEquals(header.name, "expect") { sawExpect = true }
            textBytes += header.name.utf8.count + header.value.utf8.count + 3
        }
        // libcurl would add `Content-Type: application/x-www-form-urlencoded` to a body, and
        // `Expect: 100-continue` to large ones; a line `Name:` without a value removes its own header.
        let removeContentType = hasBody && !sawContentType
        let removeExpect = !sawExpect
        let lines = headers.count + (removeContentType ? 1 : 0) + (removeExpect ? 1 : 0)
        guard lines > 0 else { return }
        textBytes += (removeContentType ? 14 : 0) + (removeExpect ? 8 : 0)

        // One allocation for the whole list: the nodes, then their NUL-terminated lines (libcurl only reads them).
        let nodeBytes = lines * MemoryLayout<curl_slist>.stride
        let block = UnsafeMutableRawPointer.allocate(byteCount: nodeBytes + textBytes, alignment: MemoryLayout<curl_slist>.alignment)
        headerBlock = block
        let nodes = block.bindMemory(to: curl_slist.self, capacity: lines)
        let text = (block + nodeBytes).bindMemory(to: CChar.self, capacity: textBytes)
        var line = 0
        var offset = 0
        func put(_ byte: UInt8) {
            text[offset] = CChar(bitPattern: byte)
            offset += 1
        }
        func append(name: String, value: String, remove: Bool) -> Bool {
            let start = offset
            for byte in name.utf8 {
                if byte == 0 || byte == 0x0a || byte == 0x0d { return false }
                put(byte)
            }
            if value.isEmpty && !remove {
                put(UInt8(ascii: ";"))
            } else {
                put(UInt8(ascii: ":"))
                if !value.isEmpty { put(UInt8(ascii: " ")) }
                for byte in value.utf8 {
                    if byte == 0 || byte == 0x0a || byte == 0x0d { return false }
                    put(byte)
                }
            }
            put(0)
            (nodes + line).initialize(to: curl_slist(data: text + start, next: line + 1 < lines ? nodes + line + 1 : nil))
            line += 1
            return true
        }
        for header in headers where !append(name: header.name, value: header.value, remove: false) {
            throw .invalidRequest("header '\(header.name)' contains CR, LF or NUL")
        }
        if removeContentType { _ = append(name: "Content-Type", value: "", remove: true) }
        if removeExpect { _ = append(name: "Expect", value: "", remove: true) }
        let rc = relay_curl_setopt_slist(easy.raw, CURLOPT_HTTPHEADER, nodes)
        if rc != CURLE_OK { throw CurlError(code: rc, detail: "") }
    }

    // MARK: - Callbacks (worker thread)

    private func receiveHeader(_ data: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        guard let data, count > 0 else { return count }
        let line = UnsafeRawBufferPointer(start: data, count: count)
        if count >= 5 && line[0] == UInt8(ascii: "H") && line[1] == UInt8(ascii: "T") && line[2] == UInt8(ascii: "T")
            && line[3] == UInt8(ascii: "P") && line[4] == UInt8(ascii: "/") {
            headerBytes.removeAll(keepingCapacity: true)
            status = parseStatus(line)
        } else if line[0] == 0x0d || line[0] == 0x0a {
            if headContinuation != nil && isFinalHead { deliverHead() }
        } else {
            headerBytes.append(contentsOf: line)
        }
        return count
    }

    /// Whether the head just ended is the one the body belongs to (not 1xx, not a followed redirect).
    private var isFinalHead: Bool {
        if status < 200 { return false }
        if followRedirects, [301, 302, 303, 307, 308].contains(status) {
            return !parseHeaderLines(headerBytes).contains { asciiCaseInsensitiveEquals($0.name, "location") }
        }
        return true
    }

    private func receiveBody(_ data: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        guard let data else { return count }
        if let stream {
            if headContinuation != nil { deliverHead() }
            return stream.offer(UnsafeRawBufferPointer(start: data, count: count))
        }
        let room = maxBodyBytes - body.count
        if room > 0 {
            if body.capacity == 0 { body.reserveCapacity(min(maxBodyBytes, max(count, 4096))) }
            body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: min(room, count)))
        }
        if count > room { bodyTruncated = true }
        return count
    }

    /// libcurl's pre-request callback: asks the request's peer check about the connected address.
    private func checkPeer(_ address: String, _ port: Int) -> Int32 {
        guard let peerCheck, let reason = peerCheck(address, port) else { return relay_curl_prereqfunc_ok() }
        peerRefusal = .refusedPeer(address: address, port: port, reason: reason)
        return relay_curl_prereqfunc_abort()
    }

    private func deliverHead() {
        guard let continuation = headContinuation else { return }
        headContinuation = nil
        continuation.resume(returning: .success(head))
    }

    /// Called once by the worker when the transfer left the multi handle (or never entered it).
    func finish(_ failure: CurlError?) {
        // The abort that followed a refused peer reads as the refusal, not as a callback abort.
        var failure = failure
        if let refusal = peerRefusal, failure?.kind == .cancelled, failure?.code == refusal.code {
            failure = refusal
        }
        if let stream {
            if let continuation = headContinuation {
                headContinuation = nil
                continuation.resume(returning: failure.map { .failure($0) } ?? .success(head))
            }
            stream.finish(failure)
        } else if let completion {
            self.completion = nil
            completion.resume(returning: failure)
        } else if let batch {
            batch.handlers.completed(batchIndex, failure.map { .failure($0) } ?? .success(result()))
        }
    }

    // MARK: - Results (awaiting task, after completion)

    var head: HTTPResponseHead {
        HTTPResponseHead(status: status, headers: parseHeaderLines(headerBytes, keeping: keptHeaders))
    }

    func result() -> HTTPResult {
        var totalMicros: curl_off_t = 0
        _ = relay_curl_getinfo_off_t(easy.raw, CURLINFO_TOTAL_TIME_T, &totalMicros)
        var effectiveURL = url
        if followRedirects {
            var pointer: UnsafeMutablePointer<CChar>?
            if relay_curl_getinfo_string(easy.raw, CURLINFO_EFFECTIVE_URL, &pointer) == CURLE_OK, let pointer {
                effectiveURL = String(cString: pointer)
            }
        }
        return HTTPResult(
            head: head, body: body, bodyTruncated: bodyTruncated,
            effectiveURL: effectiveURL, totalTime: .microseconds(totalMicros)
        )
    }
}

/// The status code of an HTTP status line (`HTTP/1.1 204 No Content`, `HTTP/2 200`).
func parseStatus(_ line: UnsafeRawBufferPointer) -> Int {
    var index = 0
    while index < line.count && line[index] != UInt8(ascii: " ") { index += 1 }
    while index < line.count && line[index] == UInt8(ascii: " ") { index += 1 }
    var status = 0
    var digits = 0
    while index < line.count, digits < 3, line[index] >= UInt8(ascii: "0"), line[index] <= UInt8(ascii: "9") {
        status = status * 10 + Int(line[index] - UInt8(ascii: "0"))
        index += 1
        digits += 1
    }
    return digits == 3 ? status : 0
}

/// Splits raw `Name: value\r\n` lines; folded continuation lines join the previous value. With `names`,
/// only headers of those names (any case) become strings; the others are skipped unparsed.
func parseHeaderLines(_ bytes: [UInt8], keeping names: [String]? = nil) -> [(name: String, value: String)] {
    var headers: [(name: String, value: String)] = []
    bytes.withUnsafeBufferPointer { buffer in
        var keptLast = false
        var start = 0
        while start < buffer.count {
            var end = start
            while end < buffer.count && buffer[end] != 0x0a { end += 1 }
            var lineEnd = end
            if lineEnd > start && buffer[lineEnd - 1] == 0x0d { lineEnd -= 1 }
            defer { start = end + 1 }
            guard lineEnd > start else { continue }
            if buffer[start] == 0x20 || buffer[start] == 0x09 {
                if keptLast, let last = headers.indices.last {
                    let folded = trimmed(buffer, start, lineEnd)
                    headers[last].value += " " + String(decoding: buffer[folded], as: UTF8.self)
                }
                continue
            }
            var colon = start
            while colon < lineEnd && buffer[colon] != UInt8(ascii: ":") { colon += 1 }
            guard colon < lineEnd else { continue }
            keptLast = names.map { isAny(of: $0, buffer[start..<colon]) } ?? true
            guard keptLast else { continue }
            let name = String(decoding: buffer[start..<colon], as: UTF8.self)
            let value = String(decoding: buffer[trimmed(buffer, colon + 1, lineEnd)], as: UTF8.self)
            headers.append((name: name, value: value))
        }
    }
    return headers
}

/// Whether `name` is one of `names`, compared without regard to ASCII case.
private func isAny(of names: [String], _ name: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
    names.contains { candidate in
        candidate.utf8.count == name.count && zip(candidate.utf8, name).allSatisfy { asciiLower($0) == asciiLower($1) }
    }
}

private func trimmed(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Range<Int> {
    var lower = start
    var upper = end
    while lower < upper && (buffer[lower] == 0x20 || buffer[lower] == 0x09) { lower += 1 }
    while upper > lower && (buffer[upper - 1] == 0x20 || buffer[upper - 1] == 0x09) { upper -= 1 }
    return lower..<upper
}

extension Duration {
    /// Whole milliseconds, rounded up and capped at ~24 days (`Int32.max`); 0 for negatives.
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 || seconds > 0 else { return 0 }
        let cap = Int64(Int32.max)
        guard seconds < cap / 1000 else { return Int(cap) }
        let fraction = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(min(cap, seconds * 1000 + fraction))
    }
}
