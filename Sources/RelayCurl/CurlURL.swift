// CurlURL: a URL parsed and normalised by libcurl's own URL parser (curl_url), so the URL a
// caller checks is exactly the URL libcurl will connect to.

import CCurl

/// An absolute URL as libcurl understands it. Checking the parts of this value rather than of a
/// URL parsed by other code leaves no room for parser differentials (`https://a.com\@b.com`,
/// `https://b.com#@a.com`): ``text`` is what a request should carry, and its parts are what
/// libcurl will use. Relative references (a `Location` header) resolve with ``resolving(_:)``.
package struct CurlURL: Sendable, Hashable, CustomStringConvertible {
    /// The whole URL, normalised by libcurl (scheme lowercased, dot segments removed, numeric
    /// IPv4 forms such as `2130706433` written as `127.0.0.1`).
    package let text: String
    /// The scheme, lowercase (`https`).
    package let scheme: String
    /// The host as libcurl connects to it, ASCII-lowercased: a name, a dotted IPv4 address, or
    /// an IPv6 address in brackets (`[::1]`).
    package let host: String
    /// The port written in the URL, nil when the URL names none.
    package let port: Int?
    /// The port connected to: ``port``, or the scheme's default.
    package let effectivePort: Int
    /// The path, at least `/`.
    package let path: String
    /// The query without its `?`, nil when there is none.
    package let query: String?
    /// Whether the URL carries a user name or password (`https://user:pass@host/`).
    package let hasUserInfo: Bool

    /// Parses an absolute URL. Throws when libcurl cannot parse it or it names no host.
    package init(parsing text: String) throws(CurlURLError) {
        let handle = try URLHandle()
        try handle.set(text)
        try self.init(handle)
    }

    /// Resolves `reference` (absolute, or relative as in a `Location` header) against this URL.
    package func resolving(_ reference: String) throws(CurlURLError) -> CurlURL {
        let handle = try URLHandle()
        try handle.set(text)
        try handle.set(reference)
        return try CurlURL(handle)
    }

    /// `scheme://host[:port]/path`, with a query shown as `?…`: safe for logs and error messages
    /// when the query carries a signature.
    package var redacted: String {
        let authority = port.map { "\(host):\($0)" } ?? host
        return "\(scheme)://\(authority)\(path)\(query == nil ? "" : "?…")"
    }

    package var description: String { redacted }

    private init(_ handle: URLHandle) throws(CurlURLError) {
        guard let text = handle.get(CURLUPART_URL), let scheme = handle.get(CURLUPART_SCHEME),
              let host = handle.get(CURLUPART_HOST), !host.isEmpty
        else {
            throw CurlURLError(message: "not an absolute URL with a host")
        }
        self.text = text
        self.scheme = scheme.lowercased()
        self.host = String(decoding: host.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
        port = handle.get(CURLUPART_PORT).flatMap { Int($0) }
        effectivePort = handle.get(CURLUPART_PORT, flags: UInt32(CURLU_DEFAULT_PORT)).flatMap { Int($0) } ?? 0
        path = handle.get(CURLUPART_PATH) ?? "/"
        query = handle.get(CURLUPART_QUERY)
        hasUserInfo = handle.get(CURLUPART_USER) != nil || handle.get(CURLUPART_PASSWORD) != nil
            || handle.get(CURLUPART_OPTIONS) != nil
    }
}

/// A URL libcurl could not parse or resolve.
package struct CurlURLError: Error, Sendable, CustomStringConvertible {
    /// Why, without the URL itself (it may carry secrets): libcurl's `curl_url_strerror` text.
    package var message: String

    package init(message: String) {
        self.message = message
    }

    package var description: String { message }
}

/// Owner of one `CURLU *` (also handed to easy handles as `CURLOPT_CURLU`, so that libcurl does not parse
/// the same URL again for every request).
final class URLHandle {
    let raw: OpaquePointer

    init() throws(CurlURLError) {
        guard CurlGlobal.initialized, let raw = curl_url() else {
            throw CurlURLError(message: "curl_url failed (out of memory)")
        }
        self.raw = raw
    }

    deinit {
        curl_url_cleanup(raw)
    }

    /// Sets the whole URL; a relative one resolves against the URL already held.
    func set(_ text: String) throws(CurlURLError) {
        let rc = curl_url_set(raw, CURLUPART_URL, text, 0)
        guard rc == CURLUE_OK else {
            throw CurlURLError(message: String(cString: curl_url_strerror(rc)))
        }
    }

    func get(_ part: CURLUPart, flags: UInt32 = 0) -> String? {
        var pointer: UnsafeMutablePointer<CChar>?
        guard curl_url_get(raw, part, &pointer, flags) == CURLUE_OK, let pointer else { return nil }
        defer { curl_free(pointer) }
        return String(cString: pointer)
    }
}
