// CurlError: a failed transfer as a value with libcurl's code, its message and a coarse kind.

import CCurl

/// A request that produced no HTTP response (HTTP error statuses are results, not errors).
package struct CurlError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, coarsely, for retry and alerting decisions.
    package enum Kind: Sendable, Hashable {
        /// The TCP connection could not be made (refused, unreachable).
        case connect
        /// The connect or total timeout ran out.
        case timeout
        /// TLS handshake or certificate verification failed, or the CA file is unusable.
        case tls
        /// The host name (or the proxy's) could not be resolved.
        case resolve
        /// The connection broke after it was made: closed with no or a partial answer, reset.
        case network
        /// The caller's task was cancelled, or the body stream was dropped.
        case cancelled
        /// The client was shut down before the transfer finished.
        case shutdown
        /// The request's ``HTTPRequestSpec/peerCheck`` refused the connected address; nothing
        /// was sent. The message carries the address and the check's reason.
        case refusedPeer
        /// Anything else: bad URL, unsupported protocol, invalid request, protocol errors.
        case other
    }

    /// libcurl's `CURLcode` (`CURLE_ABORTED_BY_CALLBACK` for cancellation and shutdown).
    package var code: Int
    /// `curl_easy_strerror` text, followed by libcurl's detail from `CURLOPT_ERRORBUFFER` when it has one.
    package var message: String
    package var kind: Kind

    package init(code: Int, message: String, kind: Kind) {
        self.code = code
        self.message = message
        self.kind = kind
    }

    package var description: String {
        "curl error \(code) (\(kind)): \(message)"
    }

    /// Maps a libcurl result to an error, taking the detail from the transfer's error buffer.
    init(code: CURLcode, detail: String) {
        let summary = String(cString: curl_easy_strerror(code))
        let message = detail.isEmpty || detail == summary ? summary : "\(summary): \(detail)"
        self.init(code: Int(code.rawValue), message: message, kind: Self.kind(of: code))
    }

    static func cancelled(_ message: String) -> CurlError {
        CurlError(code: Int(CURLE_ABORTED_BY_CALLBACK.rawValue), message: message, kind: .cancelled)
    }

    static var shutdown: CurlError {
        CurlError(code: Int(CURLE_ABORTED_BY_CALLBACK.rawValue), message: "the HTTP client was shut down", kind: .shutdown)
    }

    static func refusedPeer(address: String, port: Int, reason: String) -> CurlError {
        let peer = address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
        return CurlError(code: Int(CURLE_ABORTED_BY_CALLBACK.rawValue), message: "connection to \(peer) refused: \(reason)", kind: .refusedPeer)
    }

    static func invalidRequest(_ message: String) -> CurlError {
        CurlError(code: Int(CURLE_BAD_FUNCTION_ARGUMENT.rawValue), message: message, kind: .other)
    }

    static func kind(of code: CURLcode) -> Kind {
        switch code {
        case CURLE_COULDNT_CONNECT:
            return .connect
        case CURLE_OPERATION_TIMEDOUT:
            return .timeout
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .resolve
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_SHUTDOWN_FAILED,
             CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_SSL_ENGINE_NOTFOUND,
             CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_USE_SSL_FAILED:
            return .tls
        case CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE,
             CURLE_HTTP2, CURLE_HTTP2_STREAM:
            return .network
        case CURLE_ABORTED_BY_CALLBACK:
            return .cancelled
        default:
            return .other
        }
    }
}
