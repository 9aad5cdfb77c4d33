// Tells a manifest from data at the start of apiUrl's body, keeping what it read for the data path.

/// A body whose first non-blank byte is `{` and that ends within ``ExportManifest/maxBytes`` is
/// parsed as a possible manifest; anything else is data. The pieces read are handed back so
/// the data path starts from the first byte.
struct ManifestProbe {
    var manifest: ExportManifest?
    var prefix: [[UInt8]]

    static func read(_ stream: inout ExportFileStream, url: String) async throws(ExportJobFailure) -> ManifestProbe {
        var pieces: [[UInt8]] = []
        var total = 0
        var sawObject: Bool?
        while let piece = try await stream.next() {
            pieces.append(piece)
            total += piece.count
            if sawObject == nil {
                sawObject = firstNonBlank(in: pieces).map { $0 == UInt8(ascii: "{") }
            }
            if sawObject == false || total > ExportManifest.maxBytes {
                return ManifestProbe(manifest: nil, prefix: pieces)
            }
        }
        // The whole body is here and small.
        guard sawObject == true else { return ManifestProbe(manifest: nil, prefix: pieces) }
        let body = pieces.flatMap { $0 }
        if let manifest = try ExportManifest.parse(body, baseURL: url) {
            return ManifestProbe(manifest: manifest, prefix: [])
        }
        return ManifestProbe(manifest: nil, prefix: [body])
    }

    /// The first byte that is not whitespace or a UTF-8 byte-order mark, if any arrived yet.
    private static func firstNonBlank(in pieces: [[UInt8]]) -> UInt8? {
        for piece in pieces {
            for byte in piece where !(byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 || byte == 0xEF || byte == 0xBB || byte == 0xBF) {
                return byte
            }
        }
        return nil
    }
}
