// Owner of one libcurl easy handle and its error buffer, and the pool that recycles them.

import CCurl
import Synchronization

/// Initialises libcurl once per process, before the first handle is made.
enum CurlGlobal {
    static let initialized: Bool = curl_global_init(relay_curl_global_all()) == CURLE_OK
}

/// One `CURL *` and the `CURLOPT_ERRORBUFFER` it writes to. Used by one thread at a time: the
/// pool's mutex, the client's command queue and the completion continuation hand it over.
final class EasyHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
    let errorBuffer: UnsafeMutablePointer<CChar>
    private let errorBufferSize: Int

    init?() {
        guard CurlGlobal.initialized, let raw = curl_easy_init() else { return nil }
        self.raw = raw
        errorBufferSize = Int(relay_curl_error_size())
        errorBuffer = .allocate(capacity: errorBufferSize)
        errorBuffer.initialize(repeating: 0, count: errorBufferSize)
    }

    deinit {
        curl_easy_cleanup(raw)
        errorBuffer.deallocate()
    }

    /// libcurl's detail message for the last failure, or "".
    var errorDetail: String {
        var length = 0
        while length < errorBufferSize && errorBuffer[length] != 0 { length += 1 }
        return String(decoding: UnsafeRawBufferPointer(start: errorBuffer, count: length), as: UTF8.self)
    }

    /// Clears every option (`curl_easy_reset`) so the handle can carry another request.
    func reset() {
        curl_easy_reset(raw)
        errorBuffer[0] = 0
    }
}

extension EasyHandle {
    /// The options every request sets alike: the error buffer, no signals, the URL, http and https only,
    /// no proxy CONNECT headers in the answer, the timeouts, peer and host verification, the CA file,
    /// the proxy and the HTTP version. The first failure's code, or `CURLE_OK`.
    func setCommonOptions(url: String, connectTimeout: Duration, totalTimeout: Duration, caFile: String?, proxy: String?,
                          httpVersion: CurlClientConfiguration.HTTPVersion) -> CURLcode {
        var rc = CURLE_OK
        func set(_ code: CURLcode) { if rc == CURLE_OK { rc = code } }
        set(relay_curl_setopt_pointer(raw, CURLOPT_ERRORBUFFER, errorBuffer))
        set(relay_curl_setopt_long(raw, CURLOPT_NOSIGNAL, 1))
        set(url.withCString { relay_curl_setopt_string(raw, CURLOPT_URL, $0) })
        set(relay_curl_setopt_string(raw, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(relay_curl_setopt_long(raw, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1))
        set(relay_curl_setopt_long(raw, CURLOPT_CONNECTTIMEOUT_MS, connectTimeout.curlMilliseconds))
        set(relay_curl_setopt_long(raw, CURLOPT_TIMEOUT_MS, totalTimeout.curlMilliseconds))
        set(relay_curl_setopt_long(raw, CURLOPT_SSL_VERIFYPEER, 1))
        set(relay_curl_setopt_long(raw, CURLOPT_SSL_VERIFYHOST, 2))
        if let caFile { set(caFile.withCString { relay_curl_setopt_string(raw, CURLOPT_CAINFO, $0) }) }
        if let proxy { set(proxy.withCString { relay_curl_setopt_string(raw, CURLOPT_PROXY, $0) }) }
        switch httpVersion {
        case .http1_1:
            set(relay_curl_setopt_long(raw, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1))
        case .http2IfOffered:
            set(relay_curl_setopt_long(raw, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS))
            set(relay_curl_setopt_long(raw, CURLOPT_PIPEWAIT, 1))
        }
        return rc
    }
}

/// Idle easy handles, so that a request costs no `curl_easy_init`. Handles keep no connection:
/// connections live in the multi handle's cache.
final class EasyHandlePool: Sendable {
    private let idle: Mutex<[EasyHandle]>
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        var handles: [EasyHandle] = []
        handles.reserveCapacity(capacity)
        idle = Mutex(handles)
    }

    func acquire() -> EasyHandle? {
        if let handle = idle.withLock({ $0.popLast() }) {
            return handle
        }
        return EasyHandle()
    }

    /// Takes back a handle that is in no multi handle; drops it when the pool is full.
    func release(_ handle: EasyHandle) {
        handle.reset()
        let surplus: EasyHandle? = idle.withLock { handles in
            guard handles.count < capacity else { return handle }
            handles.append(handle)
            return nil
        }
        _ = surplus  // freed here, outside the lock
    }
}
