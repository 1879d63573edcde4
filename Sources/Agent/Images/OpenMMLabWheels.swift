/// Where OpenMMLab's prebuilt mmcv-full wheels for one PyTorch/CUDA pair live.
///
/// The index is `https://download.openmmlab.com/mmcv/dist/cu<CUDA digits>/torch<major>.<minor>.0/index.html`:
/// OpenMMLab builds mmcv-full against PyTorch `1.x.0` only and serves those wheels for `1.x.1` too.
public enum OpenMMLabWheels {
    /// The pip `-f` index for `pytorch` (e.g. `1.9.1`) and `cuda` (e.g. `11.1`, or `cpu`).
    /// - Throws: ``AgentError`` `.invalidConfig` naming `source` and the key when a version is not of that form.
    public static func indexURL(pytorch: String, cuda: String, source: String) throws(AgentError) -> String {
        let torchParts = pytorch.split(separator: ".")
        guard torchParts.count >= 2, torchParts.count <= 3, torchParts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else {
            throw AgentError(.invalidConfig, "\(source): key 'versions.pytorch': expected a version like 1.9.1, got '\(pytorch)'")
        }
        let cudaTag: String
        if cuda.lowercased() == "cpu" {
            cudaTag = "cpu"
        } else {
            let cudaParts = cuda.split(separator: ".")
            guard cudaParts.count == 2, cudaParts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else {
                throw AgentError(.invalidConfig, "\(source): key 'versions.cuda': expected a version like 11.1, got '\(cuda)'")
            }
            cudaTag = "cu\(cudaParts[0])\(cudaParts[1])"
        }
        return "https://download.openmmlab.com/mmcv/dist/\(cudaTag)/torch\(torchParts[0]).\(torchParts[1]).0/index.html"
    }

    /// mmcv's package name: `mmcv-full` for the 1.x line (with compiled ops), `mmcv` from 2.0 on.
    public static func mmcvPackage(version: String) -> String {
        let major = version.split(separator: ".").first.flatMap { Int($0) } ?? 1
        return major >= 2 ? "mmcv" : "mmcv-full"
    }
}
