import Plugins

/// What every model's OIP infer takes and answers, whatever the model: the sample description in,
/// the standard result out (both JSON text). Model metadata and configuration name exactly these.
enum OIPInterface {
    /// The one output infer answers.
    static let outputName = "result"
    static var inputs: [TensorMetadata] { [TensorMetadata("sample", "BYTES", [1])] }
    static var outputs: [TensorMetadata] { [TensorMetadata(outputName, "BYTES", [1])] }
    /// What `GET /v2` lists for these routes (Triton's names).
    static var extensions: [String] { ["binary_tensor_data", "model_configuration", "statistics"] }
}
