// One reusable request of a feed: an easy handle configured once from the feed's template, and the buffers
// its source writes each request's body and header lines into (no request value, no reset per request).

import CCurl

/// What every request of a feed shares: set once on each of the feed's easy handles.
package struct CurlFeedTemplate: Sendable {
    /// `POST`, `PUT`, `PATCH` or another token; every request carries a body.
    package var method: String
    /// Absolute `http://` or `https://` URL. Redirects are never followed.
    package var url: String
    package var connectTimeout: Duration
    /// Longest time for a whole request; `.zero` means no limit.
    package var totalTimeout: Duration
    /// PEM bundle of the CAs to trust instead of the system's. Peer and host name are always verified.
    package var caFile: String?
    /// Proxy URL, as ``HTTPRequestSpec/proxy``.
    package var proxy: String?

    package init(method: String, url: String, connectTimeout: Duration, totalTimeout: Duration, caFile: String? = nil, proxy: String? = nil) {
        self.method = method
        self.url = url
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.caFile = caFile
        self.proxy = proxy
    }
}

/// A request slot of a ``CurlFeed``. Its source writes a request with ``setBody(_:)`` and the `add…`
/// methods inside ``CurlFeedSource/writeNext(into:)``; the worker sends it. Touched only by the worker
/// thread (the feed's source runs there too), hence `@unchecked Sendable`.
package final class CurlFeedRequest: @unchecked Sendable {
    /// The source's own tag for the request, handed back in ``CurlFeedSource/ended(tag:status:error:)``.
    package var tag = 0
    let easy: EasyHandle
    /// The template's URL, parsed once: handed to the easy handle as `CURLOPT_CURLU`, which spares libcurl
    /// parsing the URL string again for every request (~11% of its instructions per request here).
    private let url: URLHandle
    /// Header entries, each `Name: value` (or `Name;`, `Name:`, or plain lines joined by CRLF) and a NUL, back to back.
    private var text: UnsafeMutableRawPointer
    private var textCapacity: Int
    private var textCount = 0
    private var lineStarts: [Int] = []
    private var nodes: UnsafeMutablePointer<curl_slist>
    private var nodeCapacity: Int
    private var body: UnsafeMutableRawPointer
    private var bodyCapacity: Int
    private var bodyCount = 0
    /// Whether lines added by ``addPlainHeader(_:_:)`` may share one entry of libcurl's header list (HTTP/1.1).
    private let joinsPlainHeaders: Bool
    /// The last line in `text` was added by ``addPlainHeader(_:_:)`` and may take the next plain one.
    private var lastLineIsPlain = false
    /// A header byte that cannot be sent (CR, LF or NUL) was written: the request fails without being sent.
    private(set) var invalidHeader: String?
    /// The status of the latest response head (0 before one).
    private(set) var status = 0

    /// nil when libcurl refused an option (out of memory, a method or URL it cannot take).
    init?(template: CurlFeedTemplate, httpVersion: CurlClientConfiguration.HTTPVersion) {
        guard let easy = EasyHandle(), let url = try? URLHandle(), (try? url.set(template.url)) != nil else { return nil }
        self.easy = easy
        self.url = url
        joinsPlainHeaders = httpVersion == .http1_1
        textCapacity = 1024
        text = .allocate(byteCount: textCapacity, alignment: 1)
        nodeCapacity = 16
        nodes = .allocate(capacity: nodeCapacity)
        bodyCapacity = 1024
        body = .allocate(byteCount: bodyCapacity, alignment: 1)
        lineStarts.reserveCapacity(nodeCapacity)
        guard configure(template, httpVersion: httpVersion) == CURLE_OK else { return nil }
    }

    deinit {
        // The handle goes first: it must not point at the buffers once they are freed.
        _ = relay_curl_setopt_slist(easy.raw, CURLOPT_HTTPHEADER, nil)
        _ = relay_curl_setopt_pointer(easy.raw, CURLOPT_CURLU, nil)
        text.deallocate()
        nodes.deallocate()
        body.deallocate()
    }

    private func configure(_ template: CurlFeedTemplate, httpVersion: CurlClientConfiguration.HTTPVersion) -> CURLcode {
        let h = easy.raw
        var rc = CURLE_OK
        func set(_ code: CURLcode) { if rc == CURLE_OK { rc = code } }
        let me = Unmanaged.passUnretained(self).toOpaque()
        set(easy.setCommonOptions(url: template.url, connectTimeout: template.connectTimeout, totalTimeout: template.totalTimeout,
                                  caFile: template.caFile, proxy: template.proxy, httpVersion: httpVersion))
        set(relay_curl_setopt_pointer(h, CURLOPT_CURLU, UnsafeMutableRawPointer(url.raw)))
        set(relay_curl_setopt_write_callback(h, CURLOPT_WRITEFUNCTION) { _, size, count, _ in size * count })
        set(relay_curl_setopt_write_callback(h, CURLOPT_HEADERFUNCTION) { data, size, count, opaque in
            guard let opaque, let data else { return size * count }
            Unmanaged<CurlFeedRequest>.fromOpaque(opaque).takeUnretainedValue()
                .receiveHeader(UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        })
        set(relay_curl_setopt_pointer(h, CURLOPT_HEADERDATA, me))
        // A body is set before each request (POSTFIELDS), which makes it a POST; other methods are named.
        set(relay_curl_setopt_pointer(h, CURLOPT_POSTFIELDS, body))
        set(relay_curl_setopt_off_t(h, CURLOPT_POSTFIELDSIZE_LARGE, 0))
        if template.method != "POST" {
            set(template.method.withCString { relay_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, $0) })
        }
        return rc
    }

    // MARK: - Writing a request (the source, inside writeNext)

    /// Starts a new request: no header lines, no body.
    func clear() {
        textCount = 0
        lineStarts.removeAll(keepingCapacity: true)
        lastLineIsPlain = false
        bodyCount = 0
        invalidHeader = nil
        status = 0
        easy.errorBuffer[0] = 0
    }

    /// The request's body (copied; libcurl sends it from this slot's buffer).
    package func setBody(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > bodyCapacity {
            body.deallocate()
            bodyCapacity = max(bytes.count, bodyCapacity * 2)
            body = .allocate(byteCount: bodyCapacity, alignment: 1)
        }
        if let base = bytes.baseAddress, !bytes.isEmpty { body.copyMemory(from: base, byteCount: bytes.count) }
        bodyCount = bytes.count
    }

    /// Appends `name: value`; an empty value is sent as an empty header (`name;` to libcurl).
    package func addHeader(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        appendLine(name, value.isEmpty ? ";" : ": ", value, plain: false)
    }

    package func addHeader(_ name: StaticString, _ value: UnsafeRawBufferPointer) {
        addHeader(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), value)
    }

    package func addHeader(_ name: [UInt8], _ value: [UInt8]) {
        name.withUnsafeBytes { name in value.withUnsafeBytes { addHeader(name, $0) } }
    }

    /// Appends `name: value` (not empty) for a header libcurl gives no meaning to, such as `ce-*` and
    /// `webhook-*`: it never looks for those names among the request's headers, as it does for `Host`,
    /// `Content-Type`, `Expect`, `Authorization` and the like. Over HTTP/1.1 a run of such lines is handed
    /// to libcurl as one entry of its header list, joined by CRLF, which is the same bytes on the wire: libcurl
    /// 7.88 formats every entry through its printf and searches the whole list once per header it looks
    /// for, so six `ce-*` lines as one entry cost it 6% fewer instructions per request (callgrind on
    /// bench/curl-multi-ceiling.c, HEADERS joined). Safe because no line holds CR, LF or NUL (such a request
    /// is not sent). Other HTTP versions get one entry per line (libcurl 8 builds their headers one by one).
    package func addPlainHeader(_ name: StaticString, _ value: UnsafeRawBufferPointer) {
        let name = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        appendLine(name, value.isEmpty ? ";" : ": ", value, plain: joinsPlainHeaders && !value.isEmpty)
    }

    /// Appends `name:` with no value, which stops libcurl sending a header of its own by that name (`Expect`).
    package func suppressHeader(_ name: StaticString) {
        appendLine(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), ":", UnsafeRawBufferPointer(start: nil, count: 0),
                   plain: false)
    }

    /// Appends a line; a plain one right after a plain one continues its entry (its NUL becomes CRLF).
    private func appendLine(_ name: UnsafeRawBufferPointer, _ separator: StaticString, _ value: UnsafeRawBufferPointer, plain: Bool) {
        let joins = plain && lastLineIsPlain
        let needed = textCount + (joins ? 1 : 0) + name.count + separator.utf8CodeUnitCount + value.count + 1
        if needed > textCapacity {
            let grown = UnsafeMutableRawPointer.allocate(byteCount: max(needed, textCapacity * 2), alignment: 1)
            grown.copyMemory(from: text, byteCount: textCount)
            text.deallocate()
            text = grown
            textCapacity = max(needed, textCapacity * 2)
        }
        if invalidHeader == nil, !isSendableHeaderText(name) || !isSendableHeaderText(value) {
            invalidHeader = String(decoding: name, as: UTF8.self)
        }
        lastLineIsPlain = plain
        if joins {
            text.storeBytes(of: UInt8(ascii: "\r"), toByteOffset: textCount - 1, as: UInt8.self)
            text.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: textCount, as: UInt8.self)
            textCount += 1
        } else {
            lineStarts.append(textCount)
        }
        func put(_ part: UnsafeRawBufferPointer) {
            guard let base = part.baseAddress, !part.isEmpty else { return }
            (text + textCount).copyMemory(from: base, byteCount: part.count)
            textCount += part.count
        }
        put(name)
        put(UnsafeRawBufferPointer(start: separator.utf8Start, count: separator.utf8CodeUnitCount))
        put(value)
        text.storeBytes(of: 0, toByteOffset: textCount, as: UInt8.self)
        textCount += 1
    }

    /// How many entries libcurl's header list of the written request has.
    var headerEntryCount: Int { lineStarts.count }

    /// Hands the written body and header list to the handle; before it is added to the multi handle.
    func prepareToSend() -> CURLcode {
        if lineStarts.count > nodeCapacity {
            nodes.deallocate()
            nodeCapacity = max(lineStarts.count, nodeCapacity * 2)
            nodes = .allocate(capacity: nodeCapacity)
        }
        let lines = lineStarts.count
        let characters = text.assumingMemoryBound(to: CChar.self)
        for (index, start) in lineStarts.enumerated() {
            (nodes + index).initialize(to: curl_slist(data: characters + start, next: index + 1 < lines ? nodes + index + 1 : nil))
        }
        let h = easy.raw
        var rc = relay_curl_setopt_slist(h, CURLOPT_HTTPHEADER, lines > 0 ? nodes : nil)
        if rc == CURLE_OK { rc = relay_curl_setopt_pointer(h, CURLOPT_POSTFIELDS, body) }
        if rc == CURLE_OK { rc = relay_curl_setopt_off_t(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bodyCount)) }
        return rc
    }

    // MARK: - The answer (worker thread)

    /// Only the status line is read: a feed's source needs nothing else of a response.
    private func receiveHeader(_ line: UnsafeRawBufferPointer) {
        if line.count >= 5, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"), line[2] == UInt8(ascii: "T"),
           line[3] == UInt8(ascii: "P"), line[4] == UInt8(ascii: "/") {
            status = parseStatus(line)
        }
    }
}
