// The validation settings of one source: its kind's defaults with the routing table's overrides applied.

public struct PayloadRules: Sendable, Hashable {
    public var kind: SourceKind
    /// Allowed values per enum field (`details.stage` names the field inside each `details` entry).
    public var enums: [String: [String]]
    public var requiredFields: Set<String>
    public var friendlyIdMaxLength: Int
    public var dedupeFields: [String]

    public static let defaultFriendlyIdMaxLength = 128

    public init(kind: SourceKind,
                enumOverrides: [String: [String]] = [:],
                requiredFields: [String]? = nil,
                friendlyIdMaxLength: Int = PayloadRules.defaultFriendlyIdMaxLength,
                dedupeFields: [String]? = nil) {
        self.kind = kind
        self.enums = kind.defaultEnums.merging(enumOverrides) { _, override in override }
        self.requiredFields = Set(requiredFields ?? kind.defaultRequiredFields)
        self.friendlyIdMaxLength = friendlyIdMaxLength
        self.dedupeFields = dedupeFields ?? kind.defaultDedupeFields
    }
}
