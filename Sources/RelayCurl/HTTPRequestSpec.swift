// One outbound HTTP request as plain values: method, URL, headers, body, timeouts, TLS, proxy and peer check.

/// An outbound HTTP request. The URL is handed to libcurl as it is (no Foundation parsing);
/// only `http` and `https` are allowed, for redirects too.
package struct HTTPRequestSpec: Sendable {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`, or any other token.
    package var method: String
    /// Absolute `http://` or `https://` URL.
    package var url: String
    /// Request headers in order. Names and values must not contain CR, LF or NUL. Without a
    /// `Content-Type` no content type is sent; `Expect: 100-continue` is never sent unless given.
    package var headers: [(name: String, value: String)]
    /// Request body; sent when not empty, and always for `POST`, `PUT` and `PATCH`.
    package var body: [UInt8]
    /// Longest wait for the connection (TCP and TLS) to be established.
    package var connectTimeout: Duration
    /// Longest time for the whole transfer, body included; `.zero` means no limit.
    package var totalTimeout: Duration
    /// PEM bundle of the CAs to trust instead of the system's. Peer and host name are always verified.
    package var caFile: String?
    /// Proxy URL. `nil`: libcurl honours `http_proxy`, `https_proxy` and `no_proxy`; `""`: no proxy at all.
    package var proxy: String?
    /// Follow `Location` on 3xx answers, at most `maxRedirects` times.
    package var followRedirects: Bool
    /// Most redirects followed when `followRedirects` is on.
    package var maxRedirects: Int
    /// Asked on the worker thread once the connection for the request (and for each followed
    /// redirect) is made or reused — TCP connected, any TLS handshake done — and before any of
    /// the request is sent, with the connected peer's IP address (`"203.0.113.7"`,
    /// `"2001:db8::1"`) and port (`CURLOPT_PREREQFUNCTION`). A non-nil answer is the reason to
    /// refuse: the transfer fails with `CurlError.Kind.refusedPeer`. Behind a proxy the peer is
    /// the proxy. Must be quick and must not block: it runs on the client's only thread.
    package var peerCheck: (@Sendable (_ address: String, _ port: Int) -> String?)?
    /// The response headers the caller reads (names in any case): only these are parsed into
    /// ``HTTPResponseHead/headers``. nil keeps every header.
    package var responseHeaders: [String]?

    package init(
        method: String = "GET",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        connectTimeout: Duration = .seconds(5),
        totalTimeout: Duration = .seconds(30),
        caFile: String? = nil,
        proxy: String? = nil,
        followRedirects: Bool = false,
        maxRedirects: Int = 5,
        peerCheck: (@Sendable (_ address: String, _ port: Int) -> String?)? = nil,
        responseHeaders: [String]? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.caFile = caFile
        self.proxy = proxy
        self.followRedirects = followRedirects
        self.maxRedirects = maxRedirects
        self.peerCheck = peerCheck
        self.responseHeaders = responseHeaders
    }
}
