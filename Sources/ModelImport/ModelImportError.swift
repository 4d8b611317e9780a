/// Why a PyTorch checkpoint or layer list could not be imported: one error naming the file, the
/// field (a tensor key such as `2.running_var`, a header field, or a layer-list path such as
/// `layers[3].kernel_size`) and what was expected.
public struct ModelImportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, for callers (and tests) that branch on it.
    public enum Kind: String, Sendable, Equatable {
        /// The file could not be read.
        case unreadable
        /// The bytes are not a safetensors file (too short, a ZIP or pickle file from
        /// `torch.save`, a header that is not a JSON object).
        case notSafeTensors
        /// The header declares more bytes than `SafeTensors.maximumHeaderSize` or the file holds.
        case headerTooLarge
        /// A header field is missing or of the wrong form.
        case malformedHeader
        /// A dtype safetensors does not define, or one that cannot hold this tensor.
        case unsupportedDType
        /// A shape whose element or byte count overflows, or a rank above `Tensor.maximumRank`.
        case sizeOverflow
        /// Data offsets outside the data section or not matching the shape's byte count.
        case offsetsOutOfRange
        /// Two tensors' byte ranges overlap.
        case overlappingTensors
        /// Bytes of the data section that no tensor covers.
        case unindexedBytes
        /// A tensor the architecture needs is not in the file.
        case missingTensor
        /// A tensor in the file that the architecture has no place for.
        case unexpectedTensor
        /// A tensor whose shape differs from the architecture's.
        case shapeMismatch
        /// NaN or infinite values, or values outside their domain (a negative variance).
        case invalidValue
        /// A layer type the importer does not know.
        case unknownLayerType
        /// A layer list that cannot be decoded or does not compose (wrong sizes, bad keys).
        case invalidArchitecture
    }

    public var kind: Kind
    /// The file (or other source) the bad input came from.
    public var file: String
    /// The field, tensor key or layer-list path at fault.
    public var field: String
    /// What was found and what was expected.
    public var reason: String

    public init(_ kind: Kind, file: String, field: String, reason: String) {
        self.kind = kind
        self.file = file
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(file): \(field): \(reason)" }
}
