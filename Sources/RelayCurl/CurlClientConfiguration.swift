// Settings of one CurlClient: connection limits, HTTP version and streaming buffer size.

/// Settings shared by every request of one ``CurlClient``.
package struct CurlClientConfiguration: Sendable {
    /// Which HTTP version to ask for.
    package enum HTTPVersion: Sendable, Hashable {
        /// HTTP/1.1 everywhere.
        case http1_1
        /// HTTP/2 over TLS when the server offers it through ALPN, HTTP/1.1 otherwise
        /// (`CURL_HTTP_VERSION_2TLS`). Concurrent requests to one host are then multiplexed.
        case http2IfOffered
    }

    /// Most connections open at once across all hosts (`CURLMOPT_MAX_TOTAL_CONNECTIONS`);
    /// transfers beyond it wait in libcurl's queue. Also the size of the idle connection cache.
    package var maxTotalConnections: Int
    /// Most connections open at once to one host (`CURLMOPT_MAX_HOST_CONNECTIONS`); 0: no own limit.
    package var maxConnectionsPerHost: Int
    /// HTTP version to negotiate.
    package var httpVersion: HTTPVersion
    /// Bytes a ``CurlBodyStream`` may hold that its consumer has not pulled yet; past it the
    /// transfer is paused until the consumer catches up.
    package var streamBufferBytes: Int
    /// Size of the chunks a ``CurlBodyStream`` hands out (`CURLOPT_BUFFERSIZE`, at most 512 KiB).
    package var streamChunkBytes: Int
    /// Worker threads, each with its own multi handle and connections; requests go to them in turn.
    /// The connection limits above are shared out between them.
    package var workerThreads: Int

    package init(
        maxTotalConnections: Int = 64,
        maxConnectionsPerHost: Int = 64,
        httpVersion: HTTPVersion = .http1_1,
        streamBufferBytes: Int = 256 * 1024,
        streamChunkBytes: Int = 64 * 1024,
        workerThreads: Int = 1
    ) {
        self.maxTotalConnections = maxTotalConnections
        self.maxConnectionsPerHost = maxConnectionsPerHost
        self.httpVersion = httpVersion
        self.streamBufferBytes = streamBufferBytes
        self.streamChunkBytes = streamChunkBytes
        self.workerThreads = max(1, workerThreads)
    }
}

extension CurlClientConfiguration {
    /// What one of `workerThreads` workers gets: its share of the connection limits (at least one each).
    var perWorker: CurlClientConfiguration {
        var share = self
        share.maxTotalConnections = max(1, (maxTotalConnections + workerThreads - 1) / workerThreads)
        if maxConnectionsPerHost > 0 {
            share.maxConnectionsPerHost = max(1, (maxConnectionsPerHost + workerThreads - 1) / workerThreads)
        }
        return share
    }
}
