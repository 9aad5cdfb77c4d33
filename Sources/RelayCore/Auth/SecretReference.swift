// A reference to a secret (`env:NAME` or `file:PATH`); secrets are never written inline in config.

package struct SecretReference: Sendable, Hashable, CustomStringConvertible {
    package enum Location: Sendable, Hashable {
        case environment(String)
        case file(String)
    }
    package var location: Location

    package init(location: Location) { self.location = location }

    /// Parses `env:NAME` or `file:/path`; anything else is refused with the reason.
    package init(parsing text: String) throws(SecretReferenceError) {
        if text.hasPrefix("env:") {
            let name = String(text.dropFirst(4))
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw SecretReferenceError(message: "env: reference needs a variable name of letters, digits and _ (got \(JSONString.quoted(text)))")
            }
            location = .environment(name)
        } else if text.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { throw SecretReferenceError(message: "file: reference needs a path") }
            location = .file(path)
        } else {
            throw SecretReferenceError(message: "secrets must be referenced as env:NAME or file:PATH, never written inline")
        }
    }

    package var description: String {
        switch location {
        case .environment(let name): return "env:\(name)"
        case .file(let path): return "file:\(path)"
        }
    }
}

package struct SecretReferenceError: Error, Sendable {
    package var message: String
}
